//! Behaviour of the simulator over real HTTP (issue 3).
