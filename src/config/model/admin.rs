//! An `admin` path (Junction): the operator dashboard and its JSON API, with its own users.

use crate::config::secret::Secret;

/// What an admin user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminRole {
    /// Sees everything, kills sessions, polls poller topics now.
    Admin,
    /// Sees everything, changes nothing.
    Viewer,
}

impl AdminRole {
    pub fn name(self) -> &'static str {
        match self {
            AdminRole::Admin => "admin",
            AdminRole::Viewer => "viewer",
        }
    }
}

/// One login of the dashboard.
#[derive(Debug, Clone)]
pub struct AdminUser {
    pub user: String,
    pub password: Secret,
    pub role: AdminRole,
}

/// `{"type": "admin", "users": [...]}`.
#[derive(Debug, Clone)]
pub struct AdminService {
    pub users: Vec<AdminUser>,
}
