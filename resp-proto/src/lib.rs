//! RESP2 and RESP3: the frame model, a streaming decoder, an encoder and a tokio codec.
//!
//! Not here: what commands mean. This crate only turns bytes into frames and back.
