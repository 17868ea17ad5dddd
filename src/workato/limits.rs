//! The client's copy of Workato's published rate limits (docs/workato-api.md), as data.
//!
//! The spacing the client keeps (`spacing`) and the least time an apply takes (`min_seconds`,
//! the plan's budget) are both computed here, with one safety margin (`PACING_MARGIN`), so that
//! the estimate is the pacer's arithmetic and not a second opinion.
//!
//! The simulator keeps its own copy (docs/workato-api.md); a test compares the two tables, so a limit
//! that changes in one place and not the other is caught.

use std::time::Duration;

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
    /// `window / (limit × share)` over its windows, each window divided by `time_scale`, widened by
    /// `PACING_MARGIN`. Requests at this spacing fit in `share` of every window at once, with room
    /// for arrival jitter.
    pub fn spacing(self, share: f64, time_scale: f64) -> Duration {
        let time_scale = if time_scale.is_finite() && time_scale > 0.0 {
            time_scale
        } else {
            1.0
        };
        let seconds = self
            .windows()
            .iter()
            .map(|(limit, seconds)| {
                let allowed = (f64::from(*limit) * share).max(1.0);
                *seconds as f64 / time_scale / allowed
            })
            .fold(0.0, f64::max);
        Duration::try_from_secs_f64(seconds * (1.0 + PACING_MARGIN)).unwrap_or_default()
    }

    /// Requests per minute allowed by the tightest window, for the plan's budget table.
    pub fn limit_per_minute(self) -> f64 {
        self.windows()
            .iter()
            .map(|(limit, seconds)| f64::from(*limit) * 60.0 / *seconds as f64)
            .fold(f64::INFINITY, f64::min)
    }

    /// The shortest time, in Workato's seconds, that `calls` requests of this family take when
    /// the client paces them (`spacing` at `share`, margin included): the first goes at once, each
    /// later one waits its slot. The plan's budget is built on this, so that its estimate is the
    /// pacer's own arithmetic.
    pub fn min_seconds(self, calls: u64, share: f64) -> f64 {
        calls.saturating_sub(1) as f64 * self.spacing(share, 1.0).as_secs_f64()
    }
}

/// How much wider than the published spacing the client keeps its requests (2%).
///
/// Workato counts requests in a window as they arrive, not as they were sent: a request that
/// leaves on time but arrives a little late (a timer tick, the scheduler, the network), followed
/// `limit` requests later by one that arrives on time, puts `limit + 1` requests into one window
/// and is answered 429. Pacing at exactly the limit therefore draws a steady trickle of 429s (about
/// one per window); 2% more spacing tolerates arrival jitter of 2% of a window (1.2 s in a
/// 60-second window) for a 2% longer apply. The plan's budget uses the same spacing.
pub const PACING_MARGIN: f64 = 0.02;

#[cfg(test)]
mod tests {
    use super::*;

    /// `seconds` widened by the margin, as `spacing` computes it.
    fn widened(seconds: f64) -> Duration {
        Duration::from_secs_f64(seconds * (1.0 + PACING_MARGIN))
    }

    #[test]
    fn spacing_honours_the_tightest_window_share_and_time_scale() {
        assert_eq!(EndpointFamily::Connections.spacing(1.0, 1.0), widened(1.0));
        assert_eq!(EndpointFamily::Connections.spacing(0.5, 1.0), widened(2.0));
        // Imports: 500 an hour is tighter than 1,000 a minute.
        assert_eq!(
            EndpointFamily::ImportsCreate.spacing(1.0, 1.0),
            widened(7.2)
        );
        assert_eq!(
            EndpointFamily::Customers.spacing(1.0, 600.0),
            widened(1.0 / 600.0)
        );
        // A nonsensical scale changes nothing rather than dividing by zero.
        assert_eq!(EndpointFamily::Connections.spacing(1.0, 0.0), widened(1.0));
    }

    #[test]
    fn the_budget_uses_the_spacing_of_the_pacer() {
        // 61 connection requests: 60 gaps of one second, widened by the margin.
        let seconds = EndpointFamily::Connections.min_seconds(61, 1.0);
        assert!(
            (seconds - 60.0 * (1.0 + PACING_MARGIN)).abs() < 1e-6,
            "{seconds}"
        );
        assert_eq!(EndpointFamily::Connections.min_seconds(1, 1.0), 0.0);
        assert_eq!(EndpointFamily::Connections.min_seconds(0, 1.0), 0.0);
        // Half the share, twice the time; imports at their hourly cap.
        let half = EndpointFamily::Connections.min_seconds(61, 0.5);
        assert!((half - 2.0 * seconds).abs() < 1e-6, "{half}");
        let imports = EndpointFamily::ImportsCreate.min_seconds(501, 1.0);
        assert!(
            (imports - 3_600.0 * (1.0 + PACING_MARGIN)).abs() < 1e-6,
            "{imports}"
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
