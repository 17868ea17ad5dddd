//! The Workato API client: the only code that speaks HTTP (DESIGN.md §5, invariant 2).

pub mod limits;
