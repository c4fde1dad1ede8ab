/** The slice of pino's interface the adapters log through (fastify.log or a child of it fits). */
export interface Logger {
  debug (obj: object, msg?: string): void
  info (obj: object, msg?: string): void
  warn (obj: object, msg?: string): void
  error (obj: object, msg?: string): void
}

export const silentLogger: Logger = {
  debug () {},
  info () {},
  warn () {},
  error () {}
}
