// asterisk-manager 0.2.0 ships no types. Only what `asterisk/ami-client.ts` uses is declared, as the
// library really behaves (see that file for the defects it works around).
declare module 'asterisk-manager' {
  /** A message as the library parses it: keys lowercased; repeated keys become arrays. */
  export type RawAmiMessage = Record<string, string | string[] | Record<string, string> | undefined>

  export type RawAmiAction = Record<string, string | number | boolean | Record<string, string> | undefined>

  export interface ManagerConnection {
    connect (port: number, host: string, callback?: (err: Error | null) => void): void
    login (callback?: (err?: RawAmiMessage) => void): void
    /** Sends an action; the callback gets (error response, response). Returns the ActionID used. */
    action (action: RawAmiAction, callback?: (err: RawAmiMessage | undefined, response?: RawAmiMessage) => void): string
    disconnect (callback?: () => void): void
    isConnected (): boolean
    on (event: 'managerevent', listener: (event: RawAmiMessage) => void): void
    on (event: 'connect' | 'close' | 'end', listener: () => void): void
    on (event: 'error', listener: (error: Error) => void): void
    removeAllListeners (event?: string): void
    readonly options: { port?: number, host: string, username: string, password: string, events: boolean }
  }

  interface ManagerConstructor {
    new (port: number | undefined, host: string, username: string, password: string, events: boolean): ManagerConnection
    (port: number | undefined, host: string, username: string, password: string, events: boolean): ManagerConnection
  }

  const Manager: ManagerConstructor
  export default Manager
}
