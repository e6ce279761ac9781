//! HTTP peers of a realm: WAMP roles Junction plays on behalf of plain HTTP servers, each as an
//! internal session joined with a configured role. [`callee`]: procedures answered by an HTTP
//! request per invocation (`realms[].http_callees`, Crossbar's `RESTCallee`).

pub mod callee;
