//! The Redis 7.0 cluster bus wire format: parse and write every byte as redis-server does.
//!
//! Not here: deciding anything. Which node is failing, who owns a slot, when to ping —
//! that is cluster-core. This crate only turns bytes into messages and back.
