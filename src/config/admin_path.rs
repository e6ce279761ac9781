//! An `admin` path (Junction's operator dashboard): its users, each with a password (a literal
//! or `$VAR`, read as a [`Secret`](crate::config::secret::Secret)) and a role, `admin` (may
//! kill sessions and poll now) or `viewer` (only looks).

use crate::config::auth;
use crate::config::loader::Loader;
use crate::config::model::{AdminRole, AdminService, AdminUser, PathService};
use crate::config::node::{Obj, Result};

pub(super) fn load_admin_path(obj: &Obj, cx: &mut Loader) -> Result<PathService> {
    obj.keys(&["type", "users"], &["debug"], &mut cx.ignored)?;
    let node = obj.required("users")?;
    let entries = node.array()?;
    if entries.is_empty() {
        return Err(node.error("an admin path needs at least one user"));
    }
    let mut users: Vec<AdminUser> = Vec::with_capacity(entries.len());
    for entry in entries {
        let user = entry.object()?;
        user.only(&["user", "password", "role"])?;
        let name_node = user.required("user")?;
        let name = name_node.non_empty_str()?;
        if users.iter().any(|u| u.user == name) {
            return Err(name_node.error(format!("user \"{name}\" is listed twice")));
        }
        let password = auth::secret(&user.required("password")?, cx)?;
        let role = match user.required("role")?.one_of(&["admin", "viewer"])? {
            "admin" => AdminRole::Admin,
            _ => AdminRole::Viewer,
        };
        users.push(AdminUser {
            user: name.to_owned(),
            password,
            role,
        });
    }
    Ok(PathService::Admin(AdminService { users }))
}

#[cfg(test)]
mod tests {
    use crate::config::PathService;
    use crate::config::load::{load_str_with_env, testing::*};

    fn load(path: &str) -> Result<crate::config::Config, String> {
        let env = |name: &str| match name {
            "ADMIN_PASSWORD" => Some("from-env".to_owned()),
            "EMPTY" => Some(String::new()),
            _ => None,
        };
        load_str_with_env(&web_worker(REALM1, path), &env).map_err(|e| e.to_string())
    }

    const P: &str = "workers[0].transports[0].paths.admin";

    #[test]
    fn users_with_roles_and_passwords_from_the_environment() {
        let config = load(
            r#""admin": {"type": "admin", "users": [
                {"user": "ops", "password": "$ADMIN_PASSWORD", "role": "admin"},
                {"user": "watch", "password": "literal", "role": "viewer"}]}"#,
        )
        .unwrap();
        let paths = config.workers[0].transports[0].kind.paths().unwrap();
        let Some(PathService::Admin(admin)) = paths.get("/admin") else {
            panic!("an admin path: {paths:?}");
        };
        assert_eq!(admin.users[0].password.expose(), "from-env");
        assert_eq!(admin.users[1].role.name(), "viewer");
        assert!(!format!("{admin:?}").contains("from-env"), "never printed");
    }

    #[test]
    fn errors_name_the_json_path() {
        let error = |path: &str| load(path).unwrap_err();
        assert_eq!(
            error(r#""admin": {"type": "admin"}"#),
            format!("{P}.users: required key is missing")
        );
        assert_eq!(
            error(r#""admin": {"type": "admin", "users": []}"#),
            format!("{P}.users: an admin path needs at least one user")
        );
        assert!(
            error(r#""admin": {"type": "admin", "users": [{"user": "a", "password": "p", "role": "root"}]}"#)
                .starts_with(&format!("{P}.users[0].role: expected one of admin, viewer")),
        );
        assert!(
            error(r#""admin": {"type": "admin", "users": [{"user": "a", "password": "p", "role": "admin", "pass": 1}]}"#)
                .starts_with(&format!("{P}.users[0].pass: unknown key")),
        );
        assert!(
            error(r#""admin": {"type": "admin", "userz": []}"#)
                .starts_with(&format!("{P}.userz: unknown key")),
        );
        assert_eq!(
            error(
                r#""admin": {"type": "admin", "users": [{"user": "a", "password": "", "role": "admin"}]}"#
            ),
            format!("{P}.users[0].password: a secret must not be empty")
        );
        assert_eq!(
            error(
                r#""admin": {"type": "admin", "users": [{"user": "a", "password": "$EMPTY", "role": "admin"}]}"#
            ),
            format!("{P}.users[0].password: environment variable EMPTY is empty")
        );
        assert_eq!(
            error(
                r#""admin": {"type": "admin", "users": [{"user": "a", "password": "$NOPE", "role": "admin"}]}"#
            ),
            format!("{P}.users[0].password: environment variable NOPE is not set")
        );
        assert_eq!(
            error(r#""admin": {"type": "admin", "users": [{"password": "p", "role": "admin"}]}"#),
            format!("{P}.users[0].user: required key is missing")
        );
        assert_eq!(
            error(
                r#""admin": {"type": "admin", "users": [
                {"user": "a", "password": "p", "role": "admin"},
                {"user": "a", "password": "q", "role": "viewer"}]}"#
            ),
            format!("{P}.users[1].user: user \"a\" is listed twice")
        );
    }
}
