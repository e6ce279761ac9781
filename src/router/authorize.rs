//! Static authorization: a realm's roles and their permissions, decided per (role, URI, action).
//!
//! Permissions are matched by URI component with precedence exact > wildcard > longest prefix
//! (Crossbar's precedence; Crossbar itself matches prefixes character-wise, and so do
//! subscriptions and registrations: see [`crate::wamp::uri`] for why permissions do not). A permission
//! written without `match` uses Crossbar's starred form: no `*` is exact, a trailing `*` only is
//! a prefix (`*` alone is everything), any other `*` is a wildcard component.

use std::collections::HashMap;

pub use crate::config::permission_pattern;
use crate::config::{Allow, Disclose, RoleConfig};
use crate::router::uri_index::UriIndex;
use crate::wamp::uri;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Call,
    Register,
    Publish,
    Subscribe,
}

impl Action {
    pub fn name(self) -> &'static str {
        match self {
            Action::Call => "call",
            Action::Register => "register",
            Action::Publish => "publish",
            Action::Subscribe => "subscribe",
        }
    }
}

/// The outcome for one request: allowed or not, and whether the caller/publisher identity is
/// disclosed (`None`: the permission does not say, the client's `disclose_me` decides).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub disclose: Option<bool>,
}

const DENY: Decision = Decision {
    allowed: false,
    disclose: None,
};

/// Crossbar's built-in role (see [`crate::config::TRUSTED_ROLE`]); also the role of internal
/// sessions that were given none (pollers without `publisher.role`).
pub use crate::config::TRUSTED_ROLE;

const TRUSTED: Decision = Decision {
    allowed: true,
    disclose: None,
};

#[derive(Debug, Clone, Copy)]
struct Permission {
    allow: Allow,
    disclose: Disclose,
}

impl Permission {
    fn decide(&self, action: Action) -> Decision {
        let (allowed, disclose) = match action {
            Action::Call => (self.allow.call, self.disclose.caller),
            Action::Register => (self.allow.register, None),
            Action::Publish => (self.allow.publish, self.disclose.publisher),
            Action::Subscribe => (self.allow.subscribe, None),
        };
        Decision { allowed, disclose }
    }
}

#[derive(Debug, Default)]
struct Role {
    permissions: UriIndex<Permission>,
    /// `allow-by-default`: what no permission matches is allowed.
    allow_by_default: bool,
    /// Dynamic authorization: this procedure decides (see `router::dynamic_authorization`).
    authorizer: Option<String>,
}

#[derive(Debug, Default)]
pub struct Authorizer {
    roles: HashMap<String, Role>,
}

impl Authorizer {
    pub fn new(roles: &[RoleConfig]) -> Authorizer {
        let mut authorizer = Authorizer::default();
        for role in roles {
            let entry = authorizer.roles.entry(role.name.clone()).or_default();
            entry.authorizer = role.authorizer.clone();
            entry.allow_by_default = role.allow_by_default;
            for p in &role.permissions {
                let (pattern, policy) = permission_pattern(&p.uri, p.match_policy);
                let permission = Permission {
                    allow: p.allow,
                    disclose: p.disclose,
                };
                entry.permissions.insert(&pattern, policy, permission);
            }
        }
        authorizer
    }

    /// Whether a session may have `role` here: one the realm defines, or the built-in
    /// `trusted`.
    pub fn has_role(&self, role: &str) -> bool {
        role == TRUSTED_ROLE || self.roles.contains_key(role)
    }

    /// The authorizer procedure of a dynamically authorized role.
    pub fn authorizer_of(&self, role: &str) -> Option<&str> {
        self.roles.get(role)?.authorizer.as_deref()
    }

    pub fn authorize(&self, role: &str, uri: &str, action: Action) -> Decision {
        let Some(role) = self.roles.get(role) else {
            // The built-in trusted role, unless the realm defines one.
            return if role == TRUSTED_ROLE { TRUSTED } else { DENY };
        };
        let index = &role.permissions;
        let permission = index
            .exact_match(uri)
            .or_else(|| index.best_wildcard(uri).map(|(_, p)| p))
            .or_else(|| {
                // Permissions match by component: the longest prefix that ends at a boundary.
                index
                    .prefix_matches(uri)
                    .filter(|(pattern, _)| uri::component_prefix_matches(pattern, uri))
                    .last()
                    .map(|(_, p)| p)
            });
        match permission {
            Some(permission) => permission.decide(action),
            None if role.allow_by_default => TRUSTED,
            None => DENY,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::PermissionConfig;
    use crate::wamp::uri::MatchPolicy;

    fn perm(uri: &str, policy: Option<MatchPolicy>, allow: Allow) -> PermissionConfig {
        PermissionConfig {
            uri: uri.into(),
            match_policy: policy,
            allow,
            disclose: Disclose::default(),
        }
    }

    const ALL: Allow = Allow {
        call: true,
        register: true,
        publish: true,
        subscribe: true,
    };
    const SUB_ONLY: Allow = Allow {
        call: false,
        register: false,
        publish: false,
        subscribe: true,
    };
    const NONE: Allow = Allow {
        call: false,
        register: false,
        publish: false,
        subscribe: false,
    };

    fn authorizer(perms: Vec<PermissionConfig>) -> Authorizer {
        Authorizer::new(&[RoleConfig {
            authorizer: None,
            allow_by_default: false,
            name: "r".into(),
            permissions: perms,
        }])
    }

    #[test]
    fn starred_forms() {
        assert_eq!(
            permission_pattern("*", None),
            ("".into(), MatchPolicy::Prefix)
        );
        assert_eq!(
            permission_pattern("com.a.*", None),
            ("com.a.".into(), MatchPolicy::Prefix)
        );
        assert_eq!(
            permission_pattern("com.*.x", None),
            ("com..x".into(), MatchPolicy::Wildcard)
        );
        assert_eq!(
            permission_pattern("com.a", None),
            ("com.a".into(), MatchPolicy::Exact)
        );
        assert_eq!(
            permission_pattern("com.a", Some(MatchPolicy::Prefix)),
            ("com.a".into(), MatchPolicy::Prefix)
        );
    }

    #[test]
    fn exact_beats_wildcard_beats_prefix() {
        let a = authorizer(vec![
            perm("com.", Some(MatchPolicy::Prefix), ALL),
            perm("com..secret", Some(MatchPolicy::Wildcard), SUB_ONLY),
            perm("com.a.secret", Some(MatchPolicy::Exact), NONE),
        ]);
        assert!(a.authorize("r", "com.b.open", Action::Publish).allowed);
        assert!(!a.authorize("r", "com.b.secret", Action::Publish).allowed);
        assert!(a.authorize("r", "com.b.secret", Action::Subscribe).allowed);
        assert!(!a.authorize("r", "com.a.secret", Action::Subscribe).allowed);
    }

    #[test]
    fn longest_prefix_wins_and_is_component_wise() {
        let a = authorizer(vec![
            perm("com.example", Some(MatchPolicy::Prefix), SUB_ONLY),
            perm("com.example.admin", Some(MatchPolicy::Prefix), NONE),
        ]);
        assert!(a.authorize("r", "com.example.x", Action::Subscribe).allowed);
        assert!(
            !a.authorize("r", "com.example.admin.x", Action::Subscribe)
                .allowed
        );
        assert!(
            !a.authorize("r", "com.examplefoo", Action::Subscribe)
                .allowed
        );
    }

    #[test]
    fn a_prefix_ending_inside_a_component_grants_nothing_there() {
        let a = authorizer(vec![
            perm("com.example", Some(MatchPolicy::Prefix), SUB_ONLY),
            perm("com.example.adm", Some(MatchPolicy::Prefix), NONE),
        ]);
        // `com.example.adm` starts the URI on the string but not by component: the shorter
        // permission decides.
        assert!(
            a.authorize("r", "com.example.admin", Action::Subscribe)
                .allowed
        );
        assert!(
            !a.authorize("r", "com.example.adm.x", Action::Subscribe)
                .allowed
        );
    }

    #[test]
    fn unknown_role_or_uri_is_denied() {
        let a = authorizer(vec![perm("com.a", None, ALL)]);
        assert!(!a.authorize("other", "com.a", Action::Call).allowed);
        assert!(!a.authorize("r", "com.b", Action::Call).allowed);
        assert!(a.authorize("r", "com.a", Action::Call).allowed);
    }

    #[test]
    fn disclose_comes_from_the_permission() {
        let mut p = perm("", Some(MatchPolicy::Prefix), ALL);
        p.disclose = Disclose {
            caller: Some(true),
            publisher: Some(false),
        };
        let a = authorizer(vec![p]);
        assert_eq!(a.authorize("r", "x", Action::Call).disclose, Some(true));
        assert_eq!(a.authorize("r", "x", Action::Publish).disclose, Some(false));
        assert_eq!(a.authorize("r", "x", Action::Register).disclose, None);
    }
}
