/**
 * Where a transfer taken over from a gone owner goes on from. Its owner records each change in the
 * shared store and publishes it on the shared feed, on two paths to Redis: an owner killed while its
 * saves had not reached the store (seen once on a Redis Cluster: the feed had `target_answered`, the
 * store still `initiated`) would leave its successor with an older state than every client saw, from
 * which nothing Asterisk shows leads anywhere. The newer of the two is taken. Pure.
 */
import type { Transfer } from '../domain/transfer.js'
import type { StoredTransfer } from '../store/transfer-store.js'

/**
 * `stored`, or it with the record its owner last published when that one is newer (the time its owner
 * gave each: both come from the same owner). What only the store keeps (where it dials, the facts
 * learned, the revision) stays the stored one's.
 */
export function stateToGoOnFrom (stored: StoredTransfer, published: Transfer | undefined): StoredTransfer {
  if (published === undefined || published.id !== stored.record.id) return stored
  if (!(Date.parse(published.updatedAt) > Date.parse(stored.record.updatedAt))) return stored
  return { ...stored, record: published }
}
