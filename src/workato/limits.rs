//! The client's copy of Workato's published rate limits (docs/workato-api.md), as data.
//!
//! The simulator keeps its own copy (docs/workato-api.md); a test compares the two tables, so a limit
//! that changes in one place and not the other is caught.

/// An endpoint family of the client: requests that share one budget.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EndpointFamily {
    CustomersCreate,
    Customers,
    ConnectionsList,
    Connections,
    RecipesRead,
    Recipes,
    ImportsCreate,
    ImportsStatus,
    PropertiesList,
    PropertiesUpsert,
    Folders,
}

impl EndpointFamily {
    /// Every family.
    pub const ALL: [EndpointFamily; 11] = [
        EndpointFamily::CustomersCreate,
        EndpointFamily::Customers,
        EndpointFamily::ConnectionsList,
        EndpointFamily::Connections,
        EndpointFamily::RecipesRead,
        EndpointFamily::Recipes,
        EndpointFamily::ImportsCreate,
        EndpointFamily::ImportsStatus,
        EndpointFamily::PropertiesList,
        EndpointFamily::PropertiesUpsert,
        EndpointFamily::Folders,
    ];

    /// The family's name in plans and logs.
    pub fn name(self) -> &'static str {
        match self {
            EndpointFamily::CustomersCreate => "customers_create",
            EndpointFamily::Customers => "customers",
            EndpointFamily::ConnectionsList => "connections_list",
            EndpointFamily::Connections => "connections",
            EndpointFamily::RecipesRead => "recipes_read",
            EndpointFamily::Recipes => "recipes",
            EndpointFamily::ImportsCreate => "imports_create",
            EndpointFamily::ImportsStatus => "imports_status",
            EndpointFamily::PropertiesList => "properties_list",
            EndpointFamily::PropertiesUpsert => "properties_upsert",
            EndpointFamily::Folders => "folders",
        }
    }

    /// The published windows: (requests, seconds). A request must fit in every one.
    pub fn windows(self) -> &'static [(u32, u64)] {
        match self {
            EndpointFamily::CustomersCreate => &[(1_000, 60)],
            EndpointFamily::Customers => &[(60, 60)],
            EndpointFamily::ConnectionsList => &[(1_000, 60)],
            EndpointFamily::Connections => &[(60, 60)],
            EndpointFamily::RecipesRead => &[(2_000, 60)],
            EndpointFamily::Recipes => &[(1_000, 60)],
            // 1,000 requests a minute, and a hard cap of 500 imports an hour per workspace.
            EndpointFamily::ImportsCreate => &[(1_000, 60), (500, 3_600)],
            EndpointFamily::ImportsStatus => &[(1_000, 60)],
            EndpointFamily::PropertiesList => &[(1_000, 60)],
            EndpointFamily::PropertiesUpsert => &[(60, 60)],
            // Not published for Embedded; the Developer API's folders limit is assumed.
            EndpointFamily::Folders => &[(60, 60)],
        }
    }

    /// The family named `name` (`connections_list`), if any.
    pub fn from_name(name: &str) -> Option<EndpointFamily> {
        EndpointFamily::ALL
            .into_iter()
            .find(|family| family.name() == name)
    }

    /// The gap the client keeps between two requests of this family: the largest of
    /// `window / (limit × share)` over its windows, each window divided by `time_scale`. Requests
    /// at this spacing fit in `share` of every window at once.
    pub fn spacing(self, share: f64, time_scale: f64) -> std::time::Duration {
        let seconds = self
            .windows()
            .iter()
            .map(|(limit, seconds)| {
                let allowed = (f64::from(*limit) * share).max(1.0);
                *seconds as f64 / time_scale / allowed
            })
            .fold(0.0, f64::max);
        std::time::Duration::try_from_secs_f64(seconds).unwrap_or_default()
    }

    /// Requests per minute allowed by the tightest window, for the plan's budget table.
    pub fn limit_per_minute(self) -> f64 {
        self.windows()
            .iter()
            .map(|(limit, seconds)| f64::from(*limit) * 60.0 / *seconds as f64)
            .fold(f64::INFINITY, f64::min)
    }

    /// The shortest time `calls` requests of this family can take when spaced evenly within
    /// `share` of every window (the rest is left to the partner's own product).
    pub fn min_seconds(self, calls: u64, share: f64) -> f64 {
        if calls == 0 {
            return 0.0;
        }
        self.windows()
            .iter()
            .map(|(limit, seconds)| {
                let allowed = (f64::from(*limit) * share).max(1.0);
                // The first request goes at once; each later one waits its slot.
                (calls.saturating_sub(1)) as f64 * *seconds as f64 / allowed
            })
            .fold(0.0, f64::max)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn spacing_honours_the_tightest_window_share_and_time_scale() {
        assert_eq!(
            EndpointFamily::Connections.spacing(1.0, 1.0),
            Duration::from_secs(1)
        );
        assert_eq!(
            EndpointFamily::Connections.spacing(0.5, 1.0),
            Duration::from_secs(2)
        );
        // Imports: 500 an hour is tighter than 1,000 a minute.
        assert_eq!(
            EndpointFamily::ImportsCreate.spacing(1.0, 1.0),
            Duration::from_millis(7_200)
        );
        assert_eq!(
            EndpointFamily::Customers.spacing(1.0, 600.0),
            Duration::from_secs_f64(1.0 / 600.0)
        );
    }

    #[test]
    fn names_round_trip() {
        for family in EndpointFamily::ALL {
            assert_eq!(EndpointFamily::from_name(family.name()), Some(family));
        }
        assert_eq!(EndpointFamily::from_name("nope"), None);
    }
}
