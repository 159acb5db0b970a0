//! Shared vocabulary of the reactions service: what a reaction is, how a client's JSON becomes
//! one, and how it is written to InfluxDB and to the embedded SQLite store.

pub mod behavior;
pub mod cgroup;
pub mod embedded;
pub mod http;
pub mod id;
pub mod influx_admin;
pub mod influxql;
pub mod line_protocol;
pub mod metrics;
pub mod reaction;
pub mod server;
pub mod shutdown;
pub mod store;
pub mod telemetry;
pub mod timestamp;
pub mod validate;

pub use behavior::Behavior;
pub use id::Id;
pub use reaction::Reaction;
pub use timestamp::Timestamp;
