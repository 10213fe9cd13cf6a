import express, { type Express } from "express"

/** The Express app as it was before dialogi: its own routes and body parsing. */
export const createShopApp = (): Express => {
  const app = express()
  app.get("/health", (_req, res) => {
    res.json({ ok: true })
  })
  // Body parsing is scoped to the app's API, as it usually is: provider webhooks need the raw bytes.
  app.use("/api", express.json())
  app.get("/api/orders/:id", (req, res) => {
    res.json({ id: req.params.id, status: "shipped" })
  })
  return app
}
