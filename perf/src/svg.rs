//! What the SVG plots of the soak and capacity reports share.

use anyhow::anyhow;

/// Turns a plotters drawing error into an error that says a plot could not be drawn.
pub fn plot_error(error: impl std::fmt::Display) -> anyhow::Error {
    anyhow!("drawing a plot failed: {error}")
}
