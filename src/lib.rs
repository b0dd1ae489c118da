//! pydive: where a Python container image's bytes went, and whether its compiled code will
//! load. Data flows one way:
//! `source` -> `layer` -> `model` -> `analysis` -> `findings` -> `report`.
// One exception, with its reasons: `layer::blob::Section::visit_in_place` maps files.
#![deny(unsafe_code)]

pub mod analysis;
pub mod app;
pub mod ci;
pub mod cli;
pub mod demo;
pub mod diff;
pub mod findings;
pub mod fixture;
pub mod layer;
pub mod limits;
pub mod model;
pub mod printable;
pub mod report;
pub mod scan;
pub mod source;
pub mod tui;
