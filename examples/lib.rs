//! Runnable examples of the scaling library; see the `[[example]]` targets.
