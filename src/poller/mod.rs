//! http-poller topics at run time: the pieces a topic's poller is built from (request, retry,
//! OAuth2, pagination, selection, change tracking, events) and the supervisor that runs them.
//! Topic definitions, their validation and their types are [`crate::config::topic`].

pub mod catalog;
pub mod change;
pub mod cycle;
pub mod diff;
pub mod event;
pub mod fetch;
pub mod fetch_error;
pub mod oauth2;
pub mod pagination;
pub mod query;
pub mod retry;
pub mod runner;
pub mod select;
pub mod supervisor;
