//! Warnings of `junction check` and `junction start`: parts of a config that load and run, but
//! mean something other than they would under Crossbar, each named by its JSON path.

use crate::config::model::{Config, PathService, permission_pattern};
use crate::wamp::uri::MatchPolicy;

/// Every warning for `config`, in config order.
pub fn warnings(config: &Config) -> Vec<String> {
    let mut out = config.load_warnings.clone();
    for worker in &config.workers {
        let w = &worker.path;
        for (r, realm) in worker.realms.iter().enumerate() {
            for (o, role) in realm.roles.iter().enumerate() {
                for (p, permission) in role.permissions.iter().enumerate() {
                    let (pattern, policy) =
                        permission_pattern(&permission.uri, permission.match_policy);
                    if let Some(text) = prefix_permission_warning(&pattern, policy) {
                        out.push(format!(
                            "{w}.realms[{r}].roles[{o}].permissions[{p}].uri: {text}"
                        ));
                    }
                }
            }
        }
        for transport in &worker.transports {
            for (path, service) in transport.kind.paths().into_iter().flatten() {
                let key = path
                    .strip_prefix('/')
                    .filter(|k| !k.is_empty())
                    .unwrap_or(path);
                let at = format!("{}.paths.{key}", transport.path);
                if let Some(text) = open_origin_warning(service) {
                    out.push(format!("{at}.options.allowed_origins: {text}"));
                }
                if let PathService::Static(files) = service
                    && !files.directory.is_dir()
                {
                    out.push(format!(
                        "{at}.directory: {} is not a directory: this path answers 404 until it \
                         is one (and Junction is restarted)",
                        files.directory.display()
                    ));
                }
            }
        }
    }
    out
}

/// A bridge path limited to some addresses (`require_ip`) that any web page may use: a page
/// on the web can then drive it through the browser of a visitor inside those addresses.
fn open_origin_warning(service: &PathService) -> Option<String> {
    let options = match service {
        PathService::Publisher(s) => &s.options,
        PathService::Caller(s) => &s.options,
        _ => return None,
    };
    (options.require_ip.is_some() && options.allowed_origins.any()).then(|| {
        "[\"*\"] lets any web page use this require_ip path through a visitor's browser \
         (the visitor's address passes require_ip); list the pages' origins instead"
            .to_string()
    })
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
    fn an_ip_restricted_path_open_to_any_origin_is_named() {
        let config = crate::config::load::load_str_with_env(
            r#"{"version": 2, "workers": [{"type": "router",
                "realms": [{"name": "realm1", "roles": [{"name": "anonymous", "permissions": []}]}],
                "transports": [{"type": "web", "endpoint": {"type": "tcp", "port": 8080},
                    "paths": {
                        "push": {"type": "publisher", "realm": "realm1", "role": "anonymous",
                                 "options": {"require_ip": ["10.0.0.0/8"], "allowed_origins": ["*"]}},
                        "open": {"type": "publisher", "realm": "realm1", "role": "anonymous",
                                 "options": {"allowed_origins": ["*"]}},
                        "listed": {"type": "caller", "realm": "realm1", "role": "anonymous",
                                 "options": {"require_ip": ["10.0.0.0/8"],
                                             "allowed_origins": ["https://app.example.com"]}}}}]}]}"#,
            &|_| None,
        )
        .unwrap();
        let found = warnings(&config);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].starts_with("workers[0].transports[0].paths.push.options.allowed_origins: "),
            "{found:?}"
        );
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

    #[test]
    fn a_static_directory_that_does_not_exist_loads_with_a_warning() {
        let json = r#"{"version": 2, "workers": [{"type": "router",
            "transports": [{"type": "web", "endpoint": {"type": "tcp", "port": 8080},
                "paths": {"/": {"type": "static", "directory": "no/such/folder"}}}]}]}"#;
        let config = load_str(json).unwrap();
        let all = warnings(&config);
        assert_eq!(all.len(), 1, "{all:?}");
        assert!(
            all[0].starts_with("workers[0].transports[0].paths./.directory: /")
                && all[0].contains("no/such/folder is not a directory: this path answers 404"),
            "{all:?}"
        );
    }
}
