//! `config.json`: Crossbar's shape in, a validated [`Config`] out.

pub mod model;
pub mod secret;

pub use model::*;
