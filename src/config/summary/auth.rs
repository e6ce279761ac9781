//! The authentication part of `junction check`'s summary: methods, principals and roles
//! (never secrets).

use crate::config::model::AuthConfig;

use super::*;

pub(super) fn auth_summary(out: &mut String, depth: usize, auth: &AuthConfig) {
    if let Some(anonymous) = &auth.anonymous {
        line(
            out,
            depth,
            match &anonymous.dynamic {
                Some(dynamic) => format!(
                    "auth anonymous: dynamic, decided by {} on {} (timeout {} ms)",
                    dynamic.authenticator,
                    dynamic.realm.as_deref().unwrap_or("the realm joined"),
                    dynamic.timeout.as_millis()
                ),
                None => format!("auth anonymous: role {}", anonymous.role),
            },
        );
    }
    if let Some(dynamic) = auth.ticket.as_ref().and_then(|t| t.dynamic.as_ref()) {
        let realm = dynamic.realm.as_deref().unwrap_or("the realm joined");
        line(
            out,
            depth,
            format!(
                "auth ticket: dynamic, decided by {} on {realm} (timeout {} ms)",
                dynamic.authenticator,
                dynamic.timeout.as_millis()
            ),
        );
    } else if let Some(ticket) = &auth.ticket {
        let principals: Vec<String> = ticket
            .principals
            .iter()
            .map(|(authid, p)| format!("{authid} (role {})", p.role))
            .collect();
        line(out, depth, format!("auth ticket: {}", or_none(principals)));
    }
    if let Some(dynamic) = auth.wampcra.as_ref().and_then(|w| w.dynamic.as_ref()) {
        line(
            out,
            depth,
            format!("auth wampcra: {}", dynamic_summary(dynamic)),
        );
    } else if let Some(wampcra) = &auth.wampcra {
        let users: Vec<String> = wampcra
            .users
            .iter()
            .map(|(authid, user)| match &user.salt {
                Some(_) => format!("{authid} (role {}, salted)", user.role),
                None => format!("{authid} (role {})", user.role),
            })
            .collect();
        line(out, depth, format!("auth wampcra: {}", or_none(users)));
    }
    if let Some(dynamic) = auth.cryptosign.as_ref().and_then(|c| c.dynamic.as_ref()) {
        line(
            out,
            depth,
            format!("auth cryptosign: {}", dynamic_summary(dynamic)),
        );
    } else if let Some(cryptosign) = &auth.cryptosign {
        let principals: Vec<String> = cryptosign
            .principals
            .iter()
            .map(|(authid, p)| {
                let keys = match p.authorized_keys.len() {
                    1 => "1 key".to_string(),
                    n => format!("{n} keys"),
                };
                match &p.realm {
                    Some(realm) => format!("{authid} (role {}, realm {realm}, {keys})", p.role),
                    None => format!("{authid} (role {}, {keys})", p.role),
                }
            })
            .collect();
        line(
            out,
            depth,
            format!("auth cryptosign: {}", or_none(principals)),
        );
    }
    if let Some(dynamic) = auth.scram.as_ref().and_then(|s| s.dynamic.as_ref()) {
        line(
            out,
            depth,
            format!("auth scram: {}", dynamic_summary(dynamic)),
        );
    } else if let Some(scram) = &auth.scram {
        let principals: Vec<String> = scram
            .principals
            .iter()
            .map(|(authid, p)| format!("{authid} (role {}, {})", p.role, p.kdf.name()))
            .collect();
        line(out, depth, format!("auth scram: {}", or_none(principals)));
    }
    if let Some(dynamic) = auth.tls.as_ref().and_then(|t| t.dynamic.as_ref()) {
        line(
            out,
            depth,
            format!("auth tls: {}", dynamic_summary(dynamic)),
        );
    } else if let Some(tls) = &auth.tls {
        let principals: Vec<String> = tls
            .principals
            .iter()
            .map(|(authid, p)| format!("{authid} (role {})", p.role))
            .collect();
        line(out, depth, format!("auth tls: {}", or_none(principals)));
    }
}

/// `dynamic, decided by PROCEDURE on REALM (timeout N ms)`.
fn dynamic_summary(dynamic: &crate::config::DynamicAuth) -> String {
    format!(
        "dynamic, decided by {} on {} (timeout {} ms)",
        dynamic.authenticator,
        dynamic.realm.as_deref().unwrap_or("the realm joined"),
        dynamic.timeout.as_millis()
    )
}
