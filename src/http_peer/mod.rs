//! HTTP peers of a realm: WAMP roles Junction plays on behalf of plain HTTP servers, each as an
//! internal session joined with a configured role. [`subscriber`]: topics whose events are
//! forwarded to a URL (`realms[].http_subscribers`, Crossbar's `MessageForwarder`);
//! [`callee`]: procedures answered by an HTTP request per invocation (`realms[].http_callees`,
//! Crossbar's `RESTCallee`).

pub mod callee;
pub mod subscriber;
