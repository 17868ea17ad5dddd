//! Workato's published rate limits, as the simulator enforces them (docs/workato-api.md).
//!
//! The table is data, kept in one place. The client keeps its own copy (docs/workato-api.md: the
//! simulator shares no code with the client) and a test compares the two, so a limit changed in
//! one is noticed in the other.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use serde::Serialize;

/// An endpoint family: the requests that share one budget.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    /// `POST /managed_users`.
    CustomersCreate,
    /// Every other managed-users endpoint (list, get, update).
    Customers,
    /// `GET /managed_users/:id/connections`.
    ConnectionsList,
    /// Every other connections endpoint (create, update, disconnect, delete).
    Connections,
    /// `GET /managed_users/:id/recipes` and `GET …/recipes/:id`.
    RecipesRead,
    /// Every other recipes endpoint (start, stop).
    Recipes,
    /// `POST /managed_users/:id/imports`.
    ImportsCreate,
    /// `GET /managed_users/:id/imports/:package_id`.
    ImportsStatus,
    /// `GET /managed_users/:id/properties`.
    PropertiesList,
    /// `POST /managed_users/:id/properties`.
    PropertiesUpsert,
    /// Folders and projects.
    Folders,
}

impl Family {
    /// Every family, in a stable order.
    pub const ALL: [Family; 11] = [
        Family::CustomersCreate,
        Family::Customers,
        Family::ConnectionsList,
        Family::Connections,
        Family::RecipesRead,
        Family::Recipes,
        Family::ImportsCreate,
        Family::ImportsStatus,
        Family::PropertiesList,
        Family::PropertiesUpsert,
        Family::Folders,
    ];

    /// The family's name in stats and logs (`connections_list`).
    pub fn name(self) -> &'static str {
        match self {
            Family::CustomersCreate => "customers_create",
            Family::Customers => "customers",
            Family::ConnectionsList => "connections_list",
            Family::Connections => "connections",
            Family::RecipesRead => "recipes_read",
            Family::Recipes => "recipes",
            Family::ImportsCreate => "imports_create",
            Family::ImportsStatus => "imports_status",
            Family::PropertiesList => "properties_list",
            Family::PropertiesUpsert => "properties_upsert",
            Family::Folders => "folders",
        }
    }

    /// The family named `name`, if any.
    pub fn from_name(name: &str) -> Option<Family> {
        Family::ALL.into_iter().find(|family| family.name() == name)
    }

    /// The published windows of this family: (requests, window in seconds). A request must fit
    /// in every window.
    pub fn windows(self) -> &'static [(u32, u64)] {
        RATE_LIMITS
            .iter()
            .find(|(family, _)| *family == self)
            .map_or(&[], |(_, windows)| windows)
    }

    /// Which family a request belongs to; `None` for paths the limits do not cover.
    /// `segments` are the path's segments after `/api`.
    pub fn classify(method: &str, segments: &[&str]) -> Option<Family> {
        let family = match (method, segments) {
            ("POST", ["managed_users"]) => Family::CustomersCreate,
            (_, ["managed_users"] | ["managed_users", _]) => Family::Customers,
            ("GET", ["managed_users", _, "connections"]) => Family::ConnectionsList,
            (_, ["managed_users", _, "connections", ..]) => Family::Connections,
            ("GET", ["managed_users", _, "recipes"] | ["managed_users", _, "recipes", _]) => {
                Family::RecipesRead
            }
            (_, ["managed_users", _, "recipes", ..]) => Family::Recipes,
            ("POST", ["managed_users", _, "imports"]) => Family::ImportsCreate,
            ("GET", ["managed_users", _, "imports", _]) => Family::ImportsStatus,
            ("GET", ["managed_users", _, "properties"]) => Family::PropertiesList,
            ("POST", ["managed_users", _, "properties"]) => Family::PropertiesUpsert,
            (_, ["managed_users", _, "folders" | "projects", ..]) => Family::Folders,
            _ => return None,
        };
        Some(family)
    }
}

/// Workato's published limits per family (docs/workato-api.md). Folders are not published for
/// Embedded; the Developer API's 60/min is assumed.
pub const RATE_LIMITS: &[(Family, &[(u32, u64)])] = &[
    (Family::CustomersCreate, &[(1_000, 60)]),
    (Family::Customers, &[(60, 60)]),
    (Family::ConnectionsList, &[(1_000, 60)]),
    (Family::Connections, &[(60, 60)]),
    (Family::RecipesRead, &[(2_000, 60)]),
    (Family::Recipes, &[(1_000, 60)]),
    (Family::ImportsCreate, &[(1_000, 60), (500, 3_600)]),
    (Family::ImportsStatus, &[(1_000, 60)]),
    (Family::PropertiesList, &[(1_000, 60)]),
    (Family::PropertiesUpsert, &[(60, 60)]),
    (Family::Folders, &[(60, 60)]),
];

/// Sliding-window counters per family, shared by the whole admin workspace as Workato's are.
#[derive(Debug)]
pub struct RateLimiter {
    time_scale: f64,
    /// Overrides of the published limits (tests shrink them to provoke 429s).
    overrides: HashMap<Family, Vec<(u32, u64)>>,
    recent: HashMap<Family, VecDeque<Instant>>,
}

impl RateLimiter {
    /// A limiter whose windows are divided by `time_scale` (≥ 1 shrinks them for fast tests).
    pub fn new(time_scale: f64) -> Self {
        Self {
            time_scale: if time_scale > 0.0 { time_scale } else { 1.0 },
            overrides: HashMap::new(),
            recent: HashMap::new(),
        }
    }

    /// Replaces a family's windows (requests, seconds before scaling).
    pub fn set_limit(&mut self, family: Family, windows: Vec<(u32, u64)>) {
        self.overrides.insert(family, windows);
    }

    /// Records a request at `now` if every window has room; otherwise returns how long until the
    /// oldest request leaves the fullest window (the `Retry-After`).
    pub fn admit(&mut self, family: Family, now: Instant) -> Result<(), Duration> {
        let windows: Vec<(u32, Duration)> = self
            .overrides
            .get(&family)
            .map_or_else(|| family.windows().to_vec(), Clone::clone)
            .into_iter()
            .map(|(limit, seconds)| {
                (
                    limit,
                    Duration::from_secs_f64(seconds as f64 / self.time_scale),
                )
            })
            .collect();
        let longest = windows
            .iter()
            .map(|(_, window)| *window)
            .max()
            .unwrap_or_default();
        let recent = self.recent.entry(family).or_default();
        while recent
            .front()
            .is_some_and(|oldest| now.duration_since(*oldest) >= longest)
        {
            recent.pop_front();
        }
        let mut wait = Duration::ZERO;
        for (limit, window) in &windows {
            let in_window: Vec<&Instant> = recent
                .iter()
                .filter(|at| now.duration_since(**at) < *window)
                .collect();
            if in_window.len() >= *limit as usize {
                let index = in_window.len() - *limit as usize;
                let until_free = *window - now.duration_since(*in_window[index]);
                wait = wait.max(until_free);
            }
        }
        if wait > Duration::ZERO {
            return Err(wait);
        }
        recent.push_back(now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_family_has_a_limit() {
        for family in Family::ALL {
            assert!(!family.windows().is_empty(), "{family:?}");
            assert_eq!(Family::from_name(family.name()), Some(family));
        }
    }

    #[test]
    fn a_full_window_refuses_with_the_time_until_a_slot_frees() {
        let mut limiter = RateLimiter::new(60.0); // one minute becomes one second
        limiter.set_limit(Family::Connections, vec![(2, 60)]);
        let start = Instant::now();
        assert!(limiter.admit(Family::Connections, start).is_ok());
        assert!(limiter.admit(Family::Connections, start).is_ok());
        let wait = limiter
            .admit(Family::Connections, start + Duration::from_millis(250))
            .expect_err("third request in the window");
        assert_eq!(wait, Duration::from_millis(750));
        assert!(
            limiter
                .admit(Family::Connections, start + Duration::from_secs(1))
                .is_ok()
        );
    }

    #[test]
    fn imports_obey_the_hourly_cap_too() {
        let mut limiter = RateLimiter::new(1.0);
        let start = Instant::now();
        for minute in 0..10u64 {
            for _ in 0..50 {
                let at = start + Duration::from_secs(minute * 60);
                assert!(limiter.admit(Family::ImportsCreate, at).is_ok());
            }
        }
        let wait = limiter
            .admit(Family::ImportsCreate, start + Duration::from_secs(600))
            .expect_err("501st import within the hour");
        assert_eq!(wait, Duration::from_secs(3_000));
    }
}
