mod store;
mod store_crash;
mod store_model;
