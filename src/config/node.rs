//! Walking a parsed `serde_json::Value` with its JSON path in hand.
//!
//! The loaders read config through [`Node`] (any value) and [`Obj`] (an object), so every
//! error carries the exact path of the key at fault, unknown keys are caught per object, and
//! keys that Junction accepts but ignores are recorded in one place.
//! Type errors name the kind of value found, never the value itself (it may be a secret).

use serde_json::{Map, Value};

use crate::config::error::ConfigError;

pub type Result<T> = std::result::Result<T, ConfigError>;

/// A JSON value and its path from the root, e.g. `workers[0].transports[1].paths.ws`.
#[derive(Clone)]
pub struct Node<'a> {
    pub value: &'a Value,
    pub path: String,
}

/// The path of `key` inside the object at `parent` (the root has the empty path).
pub fn key_path(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

impl<'a> Node<'a> {
    pub fn root(value: &'a Value) -> Self {
        Node {
            value,
            path: String::new(),
        }
    }

    /// A value at `path` (a JSON path prefix such as `workers[0].realms[0].topics[2]`).
    pub fn new(value: &'a Value, path: &str) -> Self {
        Node {
            value,
            path: path.to_string(),
        }
    }

    pub fn error(&self, message: impl Into<String>) -> ConfigError {
        ConfigError::new(self.path.clone(), message)
    }

    fn expected(&self, what: &str) -> ConfigError {
        self.error(format!("expected {what}, found {}", kind(self.value)))
    }

    pub fn object(&self) -> Result<Obj<'a>> {
        match self.value {
            Value::Object(map) => Ok(Obj {
                map,
                path: self.path.clone(),
            }),
            _ => Err(self.expected("an object")),
        }
    }

    /// The items of an array, each with its `[i]` path.
    pub fn array(&self) -> Result<Vec<Node<'a>>> {
        match self.value {
            Value::Array(items) => Ok(items
                .iter()
                .enumerate()
                .map(|(i, value)| Node {
                    value,
                    path: format!("{}[{i}]", self.path),
                })
                .collect()),
            _ => Err(self.expected("an array")),
        }
    }

    pub fn str(&self) -> Result<&'a str> {
        self.value.as_str().ok_or_else(|| self.expected("a string"))
    }

    /// A string that must not be empty.
    pub fn non_empty_str(&self) -> Result<&'a str> {
        let s = self.str()?;
        if s.is_empty() {
            return Err(self.error("must not be empty"));
        }
        Ok(s)
    }

    pub fn f64(&self) -> Result<f64> {
        self.value.as_f64().ok_or_else(|| self.expected("a number"))
    }

    pub fn bool(&self) -> Result<bool> {
        self.value
            .as_bool()
            .ok_or_else(|| self.expected("true or false"))
    }

    pub fn u64(&self) -> Result<u64> {
        self.value
            .as_u64()
            .ok_or_else(|| self.expected("a non-negative integer"))
    }

    /// A non-negative integer within `min..=max`.
    pub fn u64_in(&self, min: u64, max: u64) -> Result<u64> {
        let n = self.u64()?;
        if n < min || n > max {
            return Err(self.error(format!("{n} is out of range ({min}..={max})")));
        }
        Ok(n)
    }

    /// A non-negative integer of at least `min`.
    pub fn u64_min(&self, min: u64) -> Result<u64> {
        let n = self.u64()?;
        if n < min {
            return Err(self.error(format!("must be at least {min}, found {n}")));
        }
        Ok(n)
    }

    /// A string that must be one of `choices`; the error lists them.
    pub fn one_of(&self, choices: &[&str]) -> Result<&'a str> {
        let s = self.str()?;
        if choices.contains(&s) {
            Ok(s)
        } else {
            Err(self.error(format!(
                "expected one of {}, found \"{s}\"",
                choices.join(", ")
            )))
        }
    }
}

/// A JSON object and its path.
pub struct Obj<'a> {
    map: &'a Map<String, Value>,
    pub path: String,
}

impl<'a> Obj<'a> {
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub fn has(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }

    pub fn key_error(&self, key: &str, message: impl Into<String>) -> ConfigError {
        ConfigError::new(key_path(&self.path, key), message)
    }

    pub fn get(&self, key: &str) -> Option<Node<'a>> {
        self.map.get(key).map(|value| Node {
            value,
            path: key_path(&self.path, key),
        })
    }

    pub fn required(&self, key: &str) -> Result<Node<'a>> {
        self.get(key)
            .ok_or_else(|| self.key_error(key, "required key is missing"))
    }

    /// Every entry, in key order, with its path (for maps such as web paths or principals).
    pub fn entries(&self) -> impl Iterator<Item = (&'a str, Node<'a>)> + '_ {
        self.map.iter().map(|(key, value)| {
            (
                key.as_str(),
                Node {
                    value,
                    path: key_path(&self.path, key),
                },
            )
        })
    }

    /// Fails on the first present key of `unsupported` (key, message): Crossbar features
    /// Junction does not implement get their own message rather than "unknown key".
    pub fn reject(&self, unsupported: &[(&str, &str)]) -> Result<()> {
        match unsupported.iter().find(|(key, _)| self.has(key)) {
            Some((key, message)) => Err(self.key_error(key, *message)),
            None => Ok(()),
        }
    }

    /// Fails on any key that is in neither `known` nor `ignored`; records the path of every
    /// present `ignored` key in `ignored_out` (listed by `junction check`).
    pub fn keys(
        &self,
        known: &[&str],
        ignored: &[&str],
        ignored_out: &mut Vec<String>,
    ) -> Result<()> {
        let allowed = || {
            let all: Vec<&str> = known.iter().chain(ignored).copied().collect();
            all.join(", ")
        };
        for key in self.map.keys() {
            if !known.contains(&key.as_str()) && !ignored.contains(&key.as_str()) {
                return Err(
                    self.key_error(key, format!("unknown key (allowed here: {})", allowed()))
                );
            }
        }
        for key in ignored {
            if self.has(key) {
                ignored_out.push(key_path(&self.path, key));
            }
        }
        Ok(())
    }

    /// Fails on the first key not in `known` (for shapes with nothing to ignore).
    pub fn only(&self, known: &[&str]) -> Result<()> {
        self.keys(known, &[], &mut Vec::new())
    }

    pub fn opt_str(&self, key: &str) -> Result<Option<&'a str>> {
        self.opt(key, |node| node.str())
    }

    pub fn opt_bool(&self, key: &str) -> Result<Option<bool>> {
        self.opt(key, |node| node.bool())
    }

    pub fn opt_u64(&self, key: &str) -> Result<Option<u64>> {
        self.opt(key, |node| node.u64())
    }

    /// `f` applied to the value of `key`, when present.
    pub fn opt<T>(&self, key: &str, f: impl FnOnce(&Node<'a>) -> Result<T>) -> Result<Option<T>> {
        self.get(key).map(|node| f(&node)).transpose()
    }
}

/// The kind of a JSON value, for "expected X, found Y" messages.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_u64() => "a number",
        Value::Number(n) if n.is_i64() => "a negative number",
        // Integers beyond i64/u64 parse as floats.
        Value::Number(n) if n.as_f64().is_some_and(|f| f.fract() == 0.0) => {
            "an integer out of range"
        }
        Value::Number(_) => "a fractional number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// `obj[key]`: a byte or item count of at least 1, if present.
pub fn size(obj: &Obj, key: &str) -> Result<Option<usize>> {
    obj.get(key)
        .map(|n| {
            n.u64_min(1)
                .map(|v| usize::try_from(v).unwrap_or(usize::MAX))
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_of_keys_and_items() {
        let value = json!({"a": [{"b": 1}]});
        let root = Node::root(&value).object().unwrap();
        let a = root.required("a").unwrap();
        let items = a.array().unwrap();
        let item = items[0].object().unwrap();
        assert_eq!(item.required("b").unwrap().path, "a[0].b");
        assert_eq!(
            item.required("c").err().unwrap().to_string(),
            "a[0].c: required key is missing"
        );
    }

    #[test]
    fn type_errors_name_the_kind_not_the_value() {
        let value = json!({"s": "hunter2", "n": -3, "f": 1.5});
        let obj = Node::root(&value).object().unwrap();
        let err = obj.opt_u64("s").unwrap_err().to_string();
        assert_eq!(err, "s: expected a non-negative integer, found a string");
        assert!(!err.contains("hunter2"));
        assert!(
            obj.opt_u64("n")
                .unwrap_err()
                .to_string()
                .contains("negative number")
        );
        assert!(
            obj.opt_u64("f")
                .unwrap_err()
                .to_string()
                .contains("fractional")
        );
    }

    #[test]
    fn unknown_and_ignored_keys() {
        let value = json!({"x": {"a": 1, "cache": true}});
        let root = Node::root(&value).object().unwrap();
        let x = root.required("x").unwrap();
        let x = x.object().unwrap();
        let mut ignored = Vec::new();
        x.keys(&["a"], &["cache", "debug"], &mut ignored).unwrap();
        assert_eq!(ignored, ["x.cache"]);
        let err = x.keys(&["b"], &[], &mut ignored).unwrap_err().to_string();
        assert_eq!(err, "x.a: unknown key (allowed here: b)");
    }
}
