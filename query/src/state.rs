//! What request handlers share.

use shared::metrics::Exporter;

use crate::cache::SummaryCache;
use crate::store::Store;

pub struct AppState {
    pub store: Store,
    pub cache: SummaryCache,
    pub exporter: Exporter,
}
