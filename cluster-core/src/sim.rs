//! Simulator (written next).
