//! What the runtime could not do, as values a caller branches on; [`RuntimeError::to_wire`]
//! is the one conversion to the daemon protocol's [`Failure`].

use orchestra_core::protocol::Failure;
use orchestra_core::scale::PlanRefused;
use orchestra_vendors::VendorError;

use crate::error::error_chain;

use super::modes::FleetMode;

/// A request the runtime refused or could not carry out.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// The replica counts asked for do not fit the fleet's ports (or the limit): nothing
    /// started. Bad usage, not a failure of the fleet.
    #[error(transparent)]
    Refused(PlanRefused),
    /// A start in one mode while the fleet runs in the other.
    #[error("the fleet runs {running}; stop it first (orchestra stop)")]
    OtherMode {
        /// Where the fleet runs now.
        running: FleetMode,
    },
    /// The fleet's mode could not be written down.
    #[error("cannot save the fleet's mode")]
    SaveMode(#[source] std::io::Error),
    /// No Docker engine answers, for a fleet in Docker mode.
    #[error("cannot reach Docker")]
    Docker(#[source] Box<VendorError>),
    /// A vendor (or the vendors as a whole) failed: its name, when one is at fault, is
    /// the error's.
    #[error("{}", vendor_failed(.0.vendor().map(ToString::to_string)))]
    Vendor(#[source] Box<VendorError>),
}

impl RuntimeError {
    /// The failure as the daemon's protocol carries it; its reason is the cause's own
    /// message, shown once.
    pub fn to_wire(&self) -> Failure {
        let (unit, reason, log_tail) = match self {
            Self::Refused(refused) => ("orchestra".into(), refused.to_string(), Vec::new()),
            Self::OtherMode { .. } => ("orchestra".into(), self.to_string(), Vec::new()),
            Self::SaveMode(_) => ("orchestra".into(), error_chain(self), Vec::new()),
            Self::Docker(e) => ("docker".into(), error_chain(&**e), Vec::new()),
            Self::Vendor(e) => (
                e.vendor()
                    .map_or_else(|| "vendors".into(), ToString::to_string),
                error_chain(&**e),
                e.log_tail().to_vec(),
            ),
        };
        Failure {
            unit,
            reason,
            log_tail,
        }
    }
}

fn vendor_failed(vendor: Option<String>) -> String {
    match vendor {
        Some(vendor) => format!("vendor `{vendor}` failed"),
        None => "the vendors failed".into(),
    }
}
