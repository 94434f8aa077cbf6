//! The event pipeline: provider events → call tracker → store batch writer → event bus.
