//! The `auth` block of a WebSocket service: anonymous, ticket, wampcra, cryptosign, scram,
//! tls and cookie (static or dynamic), and the secrets they hold (literal, or `$NAME` / `${NAME}` read from the environment at
//! load; cryptosign public keys may be written the same way).
//!
//! Secret values never reach an error message: errors name the JSON path and, for
//! environment secrets, the variable's name.

pub(crate) mod cryptosign;
mod scram;
pub(crate) mod tls;

use std::collections::BTreeMap;

use crate::config::auth::cryptosign::load_cryptosign;
use crate::config::auth::scram::load_scram;
use crate::config::auth::tls::load_tls_auth;
use crate::config::loader::Loader;
use crate::config::model::{
    AnonymousAuth, AuthConfig, DynamicAuth, TicketAuth, TicketPrincipal, WampcraAuth, WampcraUser,
};
use crate::config::node::{Node, Obj, Result, key_path};
use crate::config::secret::Secret;

pub(crate) fn load_auth(node: Option<&Node>, cx: &mut Loader) -> Result<AuthConfig> {
    let Some(node) = node else {
        // Crossbar's behaviour without an auth block: anonymous, role "anonymous".
        return Ok(AuthConfig {
            anonymous: Some(AnonymousAuth {
                dynamic: None,
                role: "anonymous".to_string(),
                authid: None,
                realm: None,
            }),
            ..AuthConfig::default()
        });
    };
    let obj = node.object()?;
    obj.keys(
        &[
            "anonymous",
            "ticket",
            "wampcra",
            "cryptosign",
            "scram",
            "tls",
            "cookie",
        ],
        &[],
        &mut cx.ignored,
    )?;
    if obj.is_empty() {
        return Err(node.error(
            "no authentication method configured (expected anonymous, ticket, wampcra, cryptosign, \
             scram or tls)",
        ));
    }
    if obj.has("cookie") && obj.entries().count() == 1 {
        return Err(obj.key_error(
            "cookie",
            "cookie auth welcomes back who logged in by another method: configure one beside it",
        ));
    }
    Ok(AuthConfig {
        anonymous: obj
            .get("anonymous")
            .map(|n| load_anonymous(&n, cx))
            .transpose()?,
        ticket: obj.get("ticket").map(|n| load_ticket(&n, cx)).transpose()?,
        wampcra: obj
            .get("wampcra")
            .map(|n| load_wampcra(&n, cx))
            .transpose()?,
        cryptosign: obj
            .get("cryptosign")
            .map(|n| load_cryptosign(&n, cx).map(Box::new))
            .transpose()?,
        scram: obj.get("scram").map(|n| load_scram(&n, cx)).transpose()?,
        cookie: obj
            .get("cookie")
            .map(|n| load_cookie(&n))
            .transpose()?
            .is_some(),
        tls: obj
            .get("tls")
            .map(|n| load_tls_auth(&n, cx).map(Box::new))
            .transpose()?,
    })
}

/// `"cookie": {}` (Crossbar takes no settings; `"type": "static"` is accepted). Cookie auth
/// only welcomes back who logged in by another method: it cannot be the only one.
fn load_cookie(node: &Node) -> Result<()> {
    let obj = node.object()?;
    obj.only(&["type"])?;
    if let Some(kind) = obj.get("type") {
        kind.one_of(&["static"])?;
    }
    Ok(())
}

/// An error at `<obj>.auth.cookie`.
pub(crate) fn cookie_auth_error(obj: &Obj, message: &str) -> crate::config::ConfigError {
    crate::config::ConfigError::new(key_path(&key_path(&obj.path, "auth"), "cookie"), message)
}

/// `"anonymous": {"type": "static", "role", "authid"?, "realm"?}` or dynamic. A static
/// `authid` is every anonymous session's (Crossbar's); `realm` keeps anonymous logins to that
/// realm (Crossbar accepts the key and ignores it; Junction refuses other realms).
fn load_anonymous(node: &Node, cx: &mut Loader) -> Result<AnonymousAuth> {
    if let Some(dynamic) = dynamic_method(node, cx)? {
        return Ok(AnonymousAuth {
            role: String::new(),
            dynamic: Some(dynamic),
            authid: None,
            realm: None,
        });
    }
    let obj = static_method(node, &["type", "role", "authid", "realm"], cx)?;
    let text = |key: &str| -> Result<Option<String>> {
        obj.get(key)
            .map(|n| n.non_empty_str().map(str::to_string))
            .transpose()
    };
    Ok(AnonymousAuth {
        role: role(&obj, Some("anonymous"), cx)?,
        dynamic: None,
        authid: text("authid")?,
        realm: text("realm")?,
    })
}

pub(crate) fn load_ticket(node: &Node, cx: &mut Loader) -> Result<TicketAuth> {
    if let Some(dynamic) = dynamic_method(node, cx)? {
        return Ok(TicketAuth {
            principals: BTreeMap::new(),
            dynamic: Some(dynamic),
        });
    }
    let obj = static_method(node, &["type", "principals"], cx)?;
    let principals = obj.required("principals")?.object()?;
    let mut loaded = BTreeMap::new();
    for (authid, principal) in principals.entries() {
        let principal = principal.object()?;
        principal.keys(&["ticket", "role"], &[], &mut cx.ignored)?;
        let ticket = secret(&principal.required("ticket")?, cx)?;
        let role = role(&principal, None, cx)?;
        loaded.insert(authid.to_string(), TicketPrincipal { ticket, role });
    }
    Ok(TicketAuth {
        principals: loaded,
        dynamic: None,
    })
}

fn load_wampcra(node: &Node, cx: &mut Loader) -> Result<WampcraAuth> {
    if let Some(dynamic) = dynamic_method(node, cx)? {
        return Ok(WampcraAuth {
            users: BTreeMap::new(),
            dynamic: Some(dynamic),
        });
    }
    let obj = static_method(node, &["type", "users"], cx)?;
    let users = obj.required("users")?.object()?;
    let mut loaded = BTreeMap::new();
    for (authid, user) in users.entries() {
        let user = user.object()?;
        user.keys(
            &["secret", "role", "salt", "iterations", "keylen"],
            &[],
            &mut cx.ignored,
        )?;
        let secret = secret(&user.required("secret")?, cx)?;
        let role = role(&user, None, cx)?;
        let salt = user.opt_str("salt")?.map(str::to_string);
        let iterations = match user.get("iterations") {
            Some(n) => n.u64_in(1, u32::MAX.into())? as u32,
            None => 1000,
        };
        // A derived key longer than SHA-256 output is legal but pointless; the cap keeps a typo
        // from making every login allocate and hash megabytes.
        let keylen = match user.get("keylen") {
            Some(n) => n.u64_in(1, 1024)? as u32,
            None => 32,
        };
        loaded.insert(
            authid.to_string(),
            WampcraUser {
                secret,
                role,
                salt,
                iterations,
                keylen,
            },
        );
    }
    Ok(WampcraAuth {
        users: loaded,
        dynamic: None,
    })
}

/// Opens a method block whose `type` must be `static`; `dynamic` (an authenticator
/// procedure) and `function` are Crossbar features Junction lacks.
pub(crate) fn static_method<'a>(
    node: &Node<'a>,
    keys: &[&str],
    cx: &mut Loader,
) -> Result<Obj<'a>> {
    let obj = node.object()?;
    let kind = obj.required("type")?;
    match kind.str()? {
        "static" => {}
        "dynamic" => {
            return Err(kind.error("dynamic authentication (authenticator) is not supported yet"));
        }
        "function" => {
            // Crossbar names the callable in `create` (older configs: `callbacks`).
            let callable = obj
                .opt_str("create")
                .ok()
                .flatten()
                .unwrap_or("a Python callable");
            return Err(kind.error(format!(
                "a \"function\" authenticator ({callable}) is Python called inside Crossbar, \
                 which Junction cannot run: register it as a WAMP procedure from a backend \
                 session (e.g. a guest worker) and write {{\"type\": \"dynamic\", \
                 \"authenticator\": \"<that procedure's URI>\"}}"
            )));
        }
        other => {
            return Err(kind.error(format!("unknown auth type \"{other}\" (expected static)")));
        }
    }
    obj.keys(keys, &[], &mut cx.ignored)?;
    Ok(obj)
}

/// A method of `"type": "dynamic"` (`None` for any other type): the authenticator procedure,
/// its realm (one of this worker's) and Junction's `timeout` (ms).
pub(crate) fn dynamic_method(node: &Node, cx: &mut Loader) -> Result<Option<DynamicAuth>> {
    let obj = node.object()?;
    if obj
        .get("type")
        .and_then(|t| t.str().ok().map(str::to_string))
        != Some("dynamic".into())
    {
        return Ok(None);
    }
    obj.keys(
        &[
            "type",
            "authenticator",
            "authenticator-realm",
            "authenticator-role",
            "timeout",
        ],
        &[],
        &mut cx.ignored,
    )?;
    let procedure_node = obj.required("authenticator")?;
    let procedure = procedure_node.str()?;
    if !crate::wamp::uri::is_valid(procedure, false, crate::wamp::uri::MatchPolicy::Exact) {
        return Err(procedure_node.error(format!(
            "authenticator \"{procedure}\" is not a valid procedure URI"
        )));
    }
    let realm = match obj.get("authenticator-realm") {
        Some(node) => {
            let name = node.str()?;
            if !cx.worker_realms.iter().any(|r| r.name == name) {
                return Err(node.error(format!("realm \"{name}\" is not defined in this worker")));
            }
            Some(name.to_string())
        }
        None => None,
    };
    let role = match obj.get("authenticator-role") {
        Some(node) => {
            let role = node.str()?;
            if role != crate::config::TRUSTED_ROLE && !cx.worker_roles.contains(role) {
                cx.warnings.push(format!(
                    "{}: role \"{role}\" is defined in no realm: calls to the authenticator \
                     with it are denied, so every login fails",
                    node.path
                ));
            }
            role.to_string()
        }
        None => crate::config::TRUSTED_ROLE.to_string(),
    };
    let timeout = obj.opt("timeout", |n| n.u64_min(1))?.map_or(
        DEFAULT_AUTHENTICATOR_TIMEOUT,
        std::time::Duration::from_millis,
    );
    Ok(Some(DynamicAuth {
        authenticator: procedure.to_string(),
        realm,
        role,
        timeout,
    }))
}

/// How long a dynamic authenticator may take by default.
const DEFAULT_AUTHENTICATOR_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The `role` of a method or principal. One that no realm of the worker defines loads, as in
/// Crossbar (its sessions join and every action is denied), with a warning.
pub(crate) fn role(obj: &Obj, default: Option<&str>, cx: &mut Loader) -> Result<String> {
    let (role, note) = match (obj.get("role"), default) {
        (Some(node), _) => (node.str()?, ""),
        (None, Some(default)) => (default, " (the default)"),
        (None, None) => return Err(obj.key_error("role", "required key is missing")),
    };
    if role != crate::config::TRUSTED_ROLE && !cx.worker_roles.contains(role) {
        cx.warnings.push(format!(
            "{}: role \"{role}\"{note} is defined in no realm: its sessions join and every \
             action is denied (as in Crossbar); define the role, or name one that exists",
            key_path(&obj.path, "role")
        ));
    }
    Ok(role.to_string())
}

/// A ticket, wampcra or HTTP bridge secret: a literal string, or `$NAME` / `${NAME}` for the
/// environment variable NAME. As in Crossbar, there is no escape: a literal secret cannot look
/// like a variable reference (put such a secret in a variable instead).
pub(crate) fn secret(node: &Node, cx: &Loader) -> Result<Secret> {
    secret_from(node, cx.env)
}

/// [`secret`] with the environment lookup given directly (for loaders without a `Loader`).
pub(crate) fn secret_from(node: &Node, env: &dyn Fn(&str) -> Option<String>) -> Result<Secret> {
    let text = node.str()?;
    let value = match env_reference(text) {
        Some(name) => match env(name) {
            Some(value) if value.is_empty() => {
                return Err(node.error(format!("environment variable {name} is empty")));
            }
            Some(value) => value,
            None => {
                return Err(node.error(format!("environment variable {name} is not set")));
            }
        },
        None => text.to_string(),
    };
    if value.is_empty() {
        return Err(node.error("a secret must not be empty"));
    }
    Ok(Secret::new(value))
}

/// `NAME` of `$NAME` or `${NAME}`, where NAME is `[A-Za-z_][A-Za-z0-9_]*`.
pub(crate) fn env_reference(text: &str) -> Option<&str> {
    let rest = text.strip_prefix('$')?;
    let name = match rest.strip_prefix('{') {
        Some(braced) => braced.strip_suffix('}')?,
        None => rest,
    };
    let mut chars = name.chars();
    let first = chars.next()?;
    let valid = (first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    valid.then_some(name)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::config::load::{load_str_with_env, testing::*};
    use crate::config::model::{PathService, TransportKind};

    pub(crate) const T: &str = "workers[0].transports[0]";
    pub(crate) const REALM: &str = r#"{"name": "realm1", "roles": [{"name": "anonymous"}, {"name": "frontend"}, {"name": "backend"}]}"#;

    pub(crate) fn config_with_auth(auth: &str) -> String {
        worker(
            REALM,
            &format!(
                r#"{{"type": "web", "endpoint": {{"type": "tcp", "port": 8080}},
                    "paths": {{"ws": {{"type": "websocket", "auth": {auth}}}}}}}"#
            ),
        )
    }

    pub(crate) fn auth_of(config: &crate::config::Config) -> AuthConfig {
        let TransportKind::Web { paths, .. } = &config.workers[0].transports[0].kind else {
            panic!("expected web")
        };
        let Some(PathService::WebSocket(service)) = paths.get("/ws") else {
            panic!("expected /ws")
        };
        service.auth.clone()
    }

    fn auth(json: &str) -> AuthConfig {
        auth_of(&load(&config_with_auth(json)))
    }

    pub(crate) fn auth_error(json: &str) -> String {
        error(&config_with_auth(json))
    }

    const TICKET: &str = r#"{"ticket": {"type": "static", "principals": {"joe": {"ticket": "hunter2-ticket", "role": "frontend"}}}}"#;
    const WAMPCRA: &str = r#"{"wampcra": {"type": "static", "users": {
        "alice": {"secret": "s3cr3t-alice", "role": "backend"},
        "bob": {"secret": "s3cr3t-bob", "role": "frontend", "salt": "salt123", "iterations": 100, "keylen": 16}}}}"#;

    #[test]
    fn anonymous() {
        let a = auth(r#"{"anonymous": {"type": "static"}}"#);
        assert_eq!(a.anonymous.unwrap().role, "anonymous");
        let a = auth(r#"{"anonymous": {"type": "static", "role": "frontend"}}"#);
        assert_eq!(a.anonymous.unwrap().role, "frontend");
        assert!(a.ticket.is_none() && a.wampcra.is_none());
    }

    #[test]
    fn ticket_and_wampcra() {
        let a = auth(TICKET);
        assert!(a.anonymous.is_none());
        let joe = &a.ticket.unwrap().principals["joe"];
        assert_eq!(joe.ticket.expose(), "hunter2-ticket");
        assert_eq!(joe.role, "frontend");

        let a = auth(WAMPCRA);
        let users = a.wampcra.unwrap().users;
        let alice = &users["alice"];
        assert_eq!(
            (alice.secret.expose(), alice.salt.as_deref()),
            ("s3cr3t-alice", None)
        );
        assert_eq!((alice.iterations, alice.keylen), (1000, 32));
        let bob = &users["bob"];
        assert_eq!(bob.salt.as_deref(), Some("salt123"));
        assert_eq!(
            (bob.iterations, bob.keylen, bob.role.as_str()),
            (100, 16, "frontend")
        );
    }

    #[test]
    fn secrets_from_the_environment() {
        let env = |name: &str| match name {
            "JOE_TICKET" => Some("from-env".to_string()),
            "EMPTY" => Some(String::new()),
            _ => None,
        };
        let principals = |ticket: &str| {
            config_with_auth(&format!(
                r#"{{"ticket": {{"type": "static", "principals": {{"joe": {{"ticket": "{ticket}", "role": "frontend"}}}}}}}}"#
            ))
        };
        let ticket = |json: &str| {
            let config = load_str_with_env(json, &env).unwrap();
            auth_of(&config).ticket.unwrap().principals["joe"]
                .ticket
                .expose()
                .to_string()
        };
        assert_eq!(ticket(&principals("$JOE_TICKET")), "from-env");
        assert_eq!(ticket(&principals("${JOE_TICKET}")), "from-env");
        // Not a variable reference: kept literally.
        assert_eq!(ticket(&principals("$$JOE_TICKET")), "$$JOE_TICKET");
        assert_eq!(ticket(&principals("$1abc")), "$1abc");
        assert_eq!(ticket(&principals("${JOE")), "${JOE");
        assert_eq!(ticket(&principals("pa$$word")), "pa$$word");

        let at = format!("{T}.paths.ws.auth.ticket.principals.joe.ticket");
        let err = |json: &str| load_str_with_env(json, &env).unwrap_err().to_string();
        assert_eq!(
            err(&principals("$MISSING")),
            format!("{at}: environment variable MISSING is not set")
        );
        assert_eq!(
            err(&principals("${MISSING}")),
            format!("{at}: environment variable MISSING is not set")
        );
        assert_eq!(
            err(&principals("$EMPTY")),
            format!("{at}: environment variable EMPTY is empty")
        );
        assert_eq!(
            err(&principals("")),
            format!("{at}: a secret must not be empty")
        );

        let wampcra = config_with_auth(
            r#"{"wampcra": {"type": "static", "users": {"alice": {"secret": "${ALICE_SECRET}", "role": "backend"}}}}"#,
        );
        assert_eq!(
            err(&wampcra),
            format!(
                "{T}.paths.ws.auth.wampcra.users.alice.secret: environment variable ALICE_SECRET is not set"
            )
        );
    }

    #[test]
    fn secrets_never_print() {
        let env = |name: &str| (name == "BOB").then(|| "env-secret-value".to_string());
        let json = config_with_auth(
            r#"{"ticket": {"type": "static", "principals": {"joe": {"ticket": "hunter2-ticket", "role": "frontend"}}},
                "wampcra": {"type": "static", "users": {"alice": {"secret": "s3cr3t-alice", "role": "backend"},
                                                        "bob": {"secret": "$BOB", "role": "backend"}}}}"#,
        );
        let config = load_str_with_env(&json, &env).unwrap();
        let shown = format!("{config:?}\n{}", crate::config::summary(&config));
        for secret in ["hunter2-ticket", "s3cr3t-alice", "env-secret-value"] {
            assert!(!shown.contains(secret), "{secret} leaked:\n{shown}");
        }
        assert!(shown.contains("alice") && shown.contains("joe"));

        // Errors about secrets (wrong type, bad role next to a secret) do not carry it.
        let undefined = json.replace(r#""role": "frontend""#, r#""role": "nobody""#);
        let warned = load_str_with_env(&undefined, &env)
            .unwrap()
            .load_warnings
            .join("\n");
        for secret in ["hunter2-ticket", "s3cr3t-alice", "env-secret-value"] {
            assert!(!warned.contains(secret), "{secret} leaked:\n{warned}");
        }
        for bad in [
            json.replace(r#""hunter2-ticket""#, r#"["hunter2-ticket"]"#),
            json.replace(r#""s3cr3t-alice", "role""#, r#""s3cr3t-alice", "rol""#),
        ] {
            let message = load_str_with_env(&bad, &env).unwrap_err().to_string();
            for secret in ["hunter2-ticket", "s3cr3t-alice", "env-secret-value"] {
                assert!(!message.contains(secret), "{message}");
            }
        }
    }

    #[test]
    fn absent_auth_means_anonymous() {
        let config = load(&worker(
            REALM,
            r#"{"type": "web", "endpoint": {"type": "tcp", "port": 8080}, "paths": {"ws": {"type": "websocket"}}}"#,
        ));
        let a = auth_of(&config);
        assert_eq!(a.anonymous.unwrap().role, "anonymous");
        assert!(a.ticket.is_none() && a.wampcra.is_none());
    }

    #[test]
    fn auth_errors() {
        let at = format!("{T}.paths.ws.auth");
        assert_eq!(
            auth_error("{}"),
            format!(
                "{at}: no authentication method configured (expected anonymous, ticket, wampcra, cryptosign, scram or tls)"
            )
        );
        assert_eq!(
            auth_error(r#"{"cookie": {}}"#),
            format!(
                "{at}.cookie: cookie auth welcomes back who logged in by another method: \
                 configure one beside it"
            )
        );
        assert!(auth_error(r#"{"tickets": {}}"#).starts_with(&format!(
            "{at}.tickets: unknown key (allowed here: anonymous, ticket, wampcra, cryptosign, scram, tls, cookie)"
        )));
        // Dynamic ticket authentication: the procedure, its realm, the timeout.
        let dynamic = load(&config_with_auth(
            r#"{"ticket": {"type": "dynamic", "authenticator": "com.auth", "authenticator-realm": "realm1", "timeout": 500}}"#,
        ));
        let ticket = auth_of(&dynamic).ticket.unwrap();
        let found = ticket.dynamic.unwrap();
        assert_eq!(found.authenticator, "com.auth");
        assert_eq!(found.realm.as_deref(), Some("realm1"));
        assert_eq!(found.timeout.as_millis(), 500);
        assert_eq!(found.role, "trusted", "the default authenticator-role");
        assert!(ticket.principals.is_empty());
        assert_eq!(
            auth_error(r#"{"ticket": {"type": "dynamic"}}"#),
            format!("{at}.ticket.authenticator: required key is missing")
        );
        assert_eq!(
            auth_error(r#"{"ticket": {"type": "dynamic", "authenticator": "com..auth"}}"#),
            format!(
                "{at}.ticket.authenticator: authenticator \"com..auth\" is not a valid procedure URI"
            )
        );
        assert_eq!(
            auth_error(
                r#"{"ticket": {"type": "dynamic", "authenticator": "com.auth", "authenticator-realm": "nowhere"}}"#
            ),
            format!(
                "{at}.ticket.authenticator-realm: realm \"nowhere\" is not defined in this worker"
            )
        );
        let wampcra = load(&config_with_auth(
            r#"{"wampcra": {"type": "dynamic", "authenticator": "com.auth"}}"#,
        ));
        assert!(auth_of(&wampcra).wampcra.unwrap().dynamic.is_some());
        assert_eq!(
            auth_error(r#"{"wampcra": {"type": "function", "create": "x.y"}}"#),
            format!(
                "{at}.wampcra.type: a \"function\" authenticator (x.y) is Python called inside \
                 Crossbar, which Junction cannot run: register it as a WAMP procedure from a \
                 backend session (e.g. a guest worker) and write {{\"type\": \"dynamic\", \
                 \"authenticator\": \"<that procedure's URI>\"}}"
            )
        );
        assert_eq!(
            auth_error(r#"{"anonymous": {"type": "stat1c"}}"#),
            format!("{at}.anonymous.type: unknown auth type \"stat1c\" (expected static)")
        );
        assert_eq!(
            auth_error(r#"{"anonymous": {"type": "static", "authid": ""}}"#),
            format!("{at}.anonymous.authid: must not be empty")
        );
        assert_eq!(
            auth_error(
                r#"{"anonymous": {"type": "dynamic", "authenticator": "com.a", "realm": "realm1"}}"#
            ),
            format!(
                "{at}.anonymous.realm: unknown key (allowed here: type, authenticator, \
                 authenticator-realm, authenticator-role, timeout)"
            )
        );
        assert_eq!(
            auth_error(r#"{"anonymous": {}}"#),
            format!("{at}.anonymous.type: required key is missing")
        );
        assert_eq!(
            auth_error(r#"{"ticket": {"type": "static"}}"#),
            format!("{at}.ticket.principals: required key is missing")
        );
        let undefined = load(&config_with_auth(&TICKET.replace("frontend", "nobody")));
        assert!(
            undefined.load_warnings[0].starts_with(&format!(
                "{at}.ticket.principals.joe.role: role \"nobody\" is defined in no realm: its \
                 sessions join and every action is denied"
            )),
            "{:?}",
            undefined.load_warnings
        );
        assert_eq!(
            auth_error(r#"{"ticket": {"type": "static", "principals": {"joe": {"ticket": "x"}}}}"#),
            format!("{at}.ticket.principals.joe.role: required key is missing")
        );
        assert_eq!(
            auth_error(
                r#"{"ticket": {"type": "static", "principals": {"joe": {"role": "frontend"}}}}"#
            ),
            format!("{at}.ticket.principals.joe.ticket: required key is missing")
        );
        assert_eq!(
            auth_error(
                r#"{"ticket": {"type": "static", "principals": {"joe": {"ticket": 12, "role": "frontend"}}}}"#
            ),
            format!("{at}.ticket.principals.joe.ticket: expected a string, found a number")
        );
        assert_eq!(
            auth_error(&WAMPCRA.replace(r#""iterations": 100"#, r#""iterations": 0"#)),
            format!("{at}.wampcra.users.bob.iterations: 0 is out of range (1..=4294967295)")
        );
        assert_eq!(
            auth_error(&WAMPCRA.replace(r#""keylen": 16"#, r#""keylen": "16""#)),
            format!(
                "{at}.wampcra.users.bob.keylen: expected a non-negative integer, found a string"
            )
        );
        assert!(
            auth_error(&WAMPCRA.replace("salt\"", "pepper\""))
                .starts_with(&format!("{at}.wampcra.users.bob.pepper: unknown key"))
        );
        // The default anonymous role must exist too.
        let json = worker(
            r#"{"name": "realm1", "roles": [{"name": "public"}]}"#,
            r#"{"type": "websocket", "endpoint": {"type": "tcp", "port": 1}, "auth": {"anonymous": {"type": "static"}}}"#,
        );
        assert!(load(&json).load_warnings[0].starts_with(&format!(
            "{T}.auth.anonymous.role: role \"anonymous\" (the default) is defined in no realm"
        )));
    }

    #[test]
    fn roles_must_come_from_the_same_worker() {
        let json = r#"{"workers": [
            {"type": "router", "realms": [{"name": "a", "roles": [{"name": "frontend"}]}]},
            {"type": "router", "realms": [{"name": "b", "roles": [{"name": "other"}]}],
             "transports": [{"type": "websocket", "endpoint": {"type": "tcp", "port": 1},
                             "auth": {"anonymous": {"type": "static", "role": "frontend"}}}]}]}"#;
        assert!(load(json).load_warnings[0].starts_with(
            "workers[1].transports[0].auth.anonymous.role: role \"frontend\" is defined in no realm"
        ));
    }

    #[test]
    fn env_references() {
        assert_eq!(env_reference("$A_1"), Some("A_1"));
        assert_eq!(env_reference("${SECRET}"), Some("SECRET"));
        assert_eq!(env_reference("$1A"), None);
        assert_eq!(env_reference("${A"), None);
        assert_eq!(env_reference("plain"), None);
    }
}
