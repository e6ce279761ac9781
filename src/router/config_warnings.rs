//! Warnings of `junction check` (and `junction start`) that need the router's own rules: a role
//! that anonymous sessions get may call a meta procedure that ends other sessions. Such a
//! grant usually comes from a catch-all `""` prefix (Crossbar's `*`) meant for application
//! URIs, and lets any visitor disconnect everyone.

use std::collections::BTreeSet;

use crate::config::{AuthConfig, Config, PathService, TransportKind};
use crate::router::authorize::{Action, Authorizer};

/// The meta procedures that end sessions other than the caller's.
pub const DESTRUCTIVE_META_PROCEDURES: [&str; 4] = [
    "wamp.session.kill",
    "wamp.session.kill_by_authid",
    "wamp.session.kill_by_authrole",
    "wamp.session.kill_all",
];

/// One warning per (realm, anonymous role) that may call a destructive meta procedure.
pub fn warnings(config: &Config) -> Vec<String> {
    let mut out = Vec::new();
    for worker in &config.workers {
        let w = &worker.path;
        let anonymous = anonymous_roles(&worker.transports);
        for (r, realm) in worker.realms.iter().enumerate() {
            let authorizer = Authorizer::new(&realm.roles);
            for (o, role) in realm.roles.iter().enumerate() {
                if !anonymous.contains(role.name.as_str()) {
                    continue;
                }
                let granted: Vec<&str> = DESTRUCTIVE_META_PROCEDURES
                    .into_iter()
                    .filter(|uri| authorizer.authorize(&role.name, uri, Action::Call).allowed)
                    .collect();
                if !granted.is_empty() {
                    out.push(format!(
                        "{w}.realms[{r}].roles[{o}]: anonymous sessions get role \
                         \"{}\", which may call {}: any client could disconnect the others; \
                         deny them with exact permissions (allow nothing)",
                        role.name,
                        granted.join(", ")
                    ));
                }
            }
        }
    }
    out
}

/// The roles that the `anonymous` method of any WAMP service hands out.
fn anonymous_roles(transports: &[crate::config::TransportConfig]) -> BTreeSet<&str> {
    let mut auths: Vec<&AuthConfig> = Vec::new();
    for transport in transports {
        match &transport.kind {
            TransportKind::WebSocket(service) => auths.push(&service.auth),
            TransportKind::RawSocket(service) => auths.push(&service.auth),
            TransportKind::Web { .. } => {}
            TransportKind::Universal { rawsocket, .. } => {
                auths.extend(rawsocket.iter().map(|service| &service.auth));
            }
        }
        for path in transport.kind.paths().into_iter().flat_map(|p| p.values()) {
            if let PathService::WebSocket(service) = path {
                auths.push(&service.auth);
            }
        }
    }
    auths
        .into_iter()
        .filter_map(|auth| auth.anonymous.as_ref().map(|a| a.role.as_str()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load_str;

    fn config(permissions: &str, auth: &str) -> Config {
        let json = format!(
            r#"{{"version": 2, "workers": [{{"type": "router",
                "realms": [{{"name": "realm1", "roles": [
                    {{"name": "backend", "permissions": [{{"uri": "", "match": "prefix",
                        "allow": {{"call": true}}}}]}},
                    {{"name": "public", "permissions": [{permissions}]}}]}}],
                "transports": [{{"type": "web",
                    "endpoint": {{"type": "tcp", "port": 0}},
                    "paths": {{"ws": {{"type": "websocket", "auth": {auth}}}}}}}]}}]}}"#
        );
        load_str(&json).expect("the test config loads")
    }

    const ANONYMOUS_PUBLIC: &str = r#"{"anonymous": {"type": "static", "role": "public"}}"#;

    #[test]
    fn a_catch_all_for_anonymous_sessions_is_warned_about() {
        let all = r#"{"uri": "", "match": "prefix", "allow": {"call": true}}"#;
        let warnings = warnings(&config(all, ANONYMOUS_PUBLIC));
        assert_eq!(warnings.len(), 1, "{warnings:#?}");
        assert!(
            warnings[0].starts_with("workers[0].realms[0].roles[1]: anonymous sessions get role \"public\", which may call wamp.session.kill, "),
            "{}",
            warnings[0]
        );
        assert!(
            warnings[0].contains("wamp.session.kill_all"),
            "{}",
            warnings[0]
        );
    }

    #[test]
    fn denied_meta_procedures_or_other_roles_are_fine() {
        let denied = r#"{"uri": "", "match": "prefix", "allow": {"call": true}},
            {"uri": "wamp.session.kill", "match": "exact", "allow": {}},
            {"uri": "wamp.session.kill_by_authid", "match": "exact", "allow": {}},
            {"uri": "wamp.session.kill_by_authrole", "match": "exact", "allow": {}},
            {"uri": "wamp.session.kill_all", "match": "exact", "allow": {}}"#;
        assert_eq!(
            warnings(&config(denied, ANONYMOUS_PUBLIC)),
            [] as [String; 0]
        );
        // `backend` may call everything, but no anonymous session gets it.
        let app_only = r#"{"uri": "com.example.", "match": "prefix", "allow": {"call": true}}"#;
        assert_eq!(
            warnings(&config(app_only, ANONYMOUS_PUBLIC)),
            [] as [String; 0]
        );
    }
}
