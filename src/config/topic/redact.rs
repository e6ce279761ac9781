//! URLs of http-poller topics as logs, poll records and `junction check` show them: secrets
//! redacted.

/// Query parameter names whose values are redacted in poll records: API keys and tokens are
/// often passed in the query string.
const SECRET_PARAMETER_HINTS: [&str; 8] = [
    "key",
    "token",
    "secret",
    "password",
    "passwd",
    "signature",
    "sig",
    "auth",
];

/// `url` for a poll record: the password of the user info and the values of query parameters
/// whose names suggest a secret (`api_key`, `access_token`, `sig`, ...) become `redacted`.
pub fn redact_url(url: &str) -> String {
    let Ok(mut parsed) = url::Url::parse(url) else {
        return "<invalid URL>".to_owned();
    };
    if parsed.password().is_some() {
        let _ = parsed.set_password(Some("redacted"));
    }
    let secret = |name: &str| {
        let name = name.to_ascii_lowercase();
        SECRET_PARAMETER_HINTS
            .iter()
            .any(|hint| name.contains(hint))
    };
    if parsed.query_pairs().any(|(name, _)| secret(&name)) {
        let pairs: Vec<(String, String)> = parsed
            .query_pairs()
            .map(|(name, value)| {
                let value = if secret(&name) {
                    "redacted".to_owned()
                } else {
                    value.into_owned()
                };
                (name.into_owned(), value)
            })
            .collect();
        parsed.query_pairs_mut().clear().extend_pairs(pairs);
    }
    parsed.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords_and_secret_looking_parameters() {
        assert_eq!(
            redact_url("https://u:pw@h.example/p?api_key=s3cr3t&from=2024&access_token=t"),
            "https://u:redacted@h.example/p?api_key=redacted&from=2024&access_token=redacted"
        );
        assert_eq!(redact_url("http://h/p?page=2"), "http://h/p?page=2");
        assert_eq!(redact_url("not a url"), "<invalid URL>");
    }
}
