//! Warnings of `junction check` and `junction start`: parts of a config that load and run, but
//! mean something other than they would under Crossbar, each named by its JSON path.

use crate::config::model::{Config, permission_pattern};
use crate::wamp::uri::MatchPolicy;

/// Every warning for `config`, in config order.
pub fn warnings(config: &Config) -> Vec<String> {
    let mut out = Vec::new();
    for (w, worker) in config.workers.iter().enumerate() {
        for (r, realm) in worker.realms.iter().enumerate() {
            for (o, role) in realm.roles.iter().enumerate() {
                for (p, permission) in role.permissions.iter().enumerate() {
                    let (pattern, policy) =
                        permission_pattern(&permission.uri, permission.match_policy);
                    if let Some(text) = prefix_permission_warning(&pattern, policy) {
                        out.push(format!(
                            "workers[{w}].realms[{r}].roles[{o}].permissions[{p}].uri: {text}"
                        ));
                    }
                }
            }
        }
    }
    out
}

/// Permissions match prefixes by URI component (see `wamp::uri`), Crossbar on the string: a
/// prefix that does not end at a component boundary grants less in Junction than in Crossbar.
fn prefix_permission_warning(pattern: &str, policy: MatchPolicy) -> Option<String> {
    if policy != MatchPolicy::Prefix || pattern.is_empty() || pattern.ends_with('.') {
        return None;
    }
    Some(format!(
        "the prefix \"{pattern}\" ends inside a URI component: Junction grants \"{pattern}\" \
         and the URIs below it (\"{pattern}.x\"), Crossbar also every URI that merely starts \
         with it (\"{pattern}x\"); write \"{pattern}.\" to grant only the URIs below it"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load_str;

    fn config_with_permissions(permissions: &str) -> Config {
        let json = format!(
            r#"{{"version": 2, "workers": [{{"type": "router",
                "realms": [{{"name": "realm1", "roles": [
                    {{"name": "open", "permissions": [{{"uri": "", "match": "prefix",
                        "allow": {{"call": true}}}}]}},
                    {{"name": "app", "permissions": [{permissions}]}}]}}],
                "transports": []}}]}}"#
        );
        load_str(&json).expect("the test config loads")
    }

    #[test]
    fn a_prefix_ending_inside_a_component_is_named_by_path() {
        let config = config_with_permissions(
            r#"{"uri": "com.example.app", "match": "prefix", "allow": {"call": true}},
               {"uri": "com.example.", "match": "prefix", "allow": {"call": true}},
               {"uri": "com.other*", "allow": {"call": true}},
               {"uri": "com.other.*", "allow": {"call": true}},
               {"uri": "*", "allow": {"call": true}},
               {"uri": "com.exact", "allow": {"call": true}},
               {"uri": "com..x", "match": "wildcard", "allow": {"call": true}}"#,
        );
        let warnings = warnings(&config);
        assert_eq!(warnings.len(), 2, "{warnings:#?}");
        assert!(
            warnings[0].starts_with(
                "workers[0].realms[0].roles[1].permissions[0].uri: the prefix \"com.example.app\""
            ),
            "{}",
            warnings[0]
        );
        assert!(
            warnings[0].contains("\"com.example.app.\""),
            "{}",
            warnings[0]
        );
        assert!(
            warnings[1].starts_with(
                "workers[0].realms[0].roles[1].permissions[2].uri: the prefix \"com.other\""
            ),
            "{}",
            warnings[1]
        );
    }
}
