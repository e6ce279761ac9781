//! The error and close reason URIs Junction sends, by the spec's names.

pub const INVALID_URI: &str = "wamp.error.invalid_uri";
pub const NO_SUCH_PROCEDURE: &str = "wamp.error.no_such_procedure";
pub const PROCEDURE_ALREADY_EXISTS: &str = "wamp.error.procedure_already_exists";
pub const NO_SUCH_REGISTRATION: &str = "wamp.error.no_such_registration";
pub const NO_SUCH_SUBSCRIPTION: &str = "wamp.error.no_such_subscription";
pub const INVALID_ARGUMENT: &str = "wamp.error.invalid_argument";
pub const CANCELED: &str = "wamp.error.canceled";
/// The cluster (NATS) could not be reached for what the request needs.
pub const NETWORK_FAILURE: &str = "wamp.error.network_failure";
/// Crossbar's: every callee of the registration runs as many calls as its `concurrency` allows.
pub const MAX_CONCURRENCY_REACHED: &str = "crossbar.error.max_concurrency_reached";
pub const PROTOCOL_VIOLATION: &str = "wamp.error.protocol_violation";
pub const NOT_AUTHORIZED: &str = "wamp.error.not_authorized";
pub const AUTHENTICATION_FAILED: &str = "wamp.error.authentication_failed";
pub const AUTHORIZATION_FAILED: &str = "wamp.error.authorization_failed";
pub const NO_SUCH_REALM: &str = "wamp.error.no_such_realm";
pub const NO_SUCH_ROLE: &str = "wamp.error.no_such_role";
pub const NO_AUTH_METHOD: &str = "wamp.error.no_auth_method";
pub const NO_SUCH_SESSION: &str = "wamp.error.no_such_session";
pub const FEATURE_NOT_SUPPORTED: &str = "wamp.error.feature_not_supported";

pub const CLOSE_SYSTEM_SHUTDOWN: &str = "wamp.close.system_shutdown";
pub const CLOSE_GOODBYE_AND_OUT: &str = "wamp.close.goodbye_and_out";
pub const CLOSE_NORMAL: &str = "wamp.close.normal";
/// GOODBYE reason of a client logging out: its tracking cookie forgets the login.
pub const CLOSE_LOGOUT: &str = "wamp.close.logout";
pub const TIMEOUT: &str = "wamp.error.timeout";
pub const PROCEDURE_EXISTS_WITH_DIFFERENT_INVOCATION_POLICY: &str =
    "wamp.error.procedure_exists_with_different_invocation_policy";
