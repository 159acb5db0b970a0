//! State shared by the request handlers.

use shared::metrics::Exporter;

use crate::cache::SummaryCache;
use crate::store::Store;

pub struct AppState {
    pub store: Store,
    pub cache: SummaryCache,
    pub exporter: Exporter,
}
