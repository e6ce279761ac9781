//! [`ConfigError`]: what is wrong with a config, and where.
//!
//! Every error names a location, so a user can find the offending key without reading code:
//! a JSON path (`workers[0].realms[0].roles[1].permissions[0].match`), `line L column C`
//! for JSON that does not parse, or the file name when it cannot be read.
//! Messages never contain secret values (tickets, wampcra secrets): loaders describe the
//! kind of a bad value ("expected a string, found a number"), not the value.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    location: String,
    message: String,
}

impl ConfigError {
    pub fn new(location: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError {
            location: location.into(),
            message: message.into(),
        }
    }

    /// The JSON path of the offending key (or `line L column C`, or the file name).
    pub fn location(&self) -> &str {
        &self.location
    }

    /// What is wrong, in words.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Invalid JSON: serde_json's message without its own "at line .. column .." suffix,
    /// since the location is already in front.
    pub(crate) fn from_json(error: &serde_json::Error) -> Self {
        let location = format!("line {} column {}", error.line(), error.column());
        let full = error.to_string();
        let message = full
            .strip_suffix(&format!(" at {location}"))
            .unwrap_or(&full);
        ConfigError::new(location, message)
    }

    /// A JSON syntax error (located by line and column) names the file too; a JSON path is
    /// clear on its own.
    pub(crate) fn in_file(self, path: &std::path::Path) -> Self {
        if !self.location.starts_with("line ") {
            return self;
        }
        ConfigError {
            location: format!("{} {}", path.display(), self.location),
            ..self
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.message)
    }
}

impl std::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_syntax_error_names_line_and_column() {
        let error = serde_json::from_str::<serde_json::Value>("{\n  \"a\": ,\n}").unwrap_err();
        let error = ConfigError::from_json(&error);
        assert_eq!(error.location(), "line 2 column 8");
        assert_eq!(error.to_string(), "line 2 column 8: expected value");
    }
}
