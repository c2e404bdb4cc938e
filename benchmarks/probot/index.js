// A no-op Probot app: the baseline for benchmarks/ingest.py.
//
// It registers a handler for `push` that does nothing, so a delivery costs
// Probot only its own work: read the body, verify X-Hub-Signature-256, parse
// the JSON, build the event context and run the (empty) handler, then answer
// 200. It persists nothing and never calls GitHub.

/** @param {import("probot").Probot} app */
export default (app) => {
  app.on("push", async () => {});
};
