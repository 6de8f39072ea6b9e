// Fair shares of the server for clients nobody vouches for. A learner is a
// cookie, and a client that drops its cookie is a new learner: so new
// learners are rate limited per address, and the sandboxes of all the
// learners last seen at one address count together against that address's
// share. A room behind one NAT is one address: the limits are generous, and a
// workshop's members count against their workshop's capacity instead.
import { RateLimiter, type RateLimit } from './rate-limit.js';

export interface AdmissionOptions {
  /** New learners one address may bring. */
  newLearners: RateLimit;
  /** Sandboxes the learners of one address may hold at once. */
  sandboxesPerAddress: number;
  /** The sandboxes a learner holds now. */
  sandboxesOf: (learner: string) => number;
  /** Is this learner counted elsewhere (a workshop's member)? */
  vouchedFor?: (learner: string) => boolean;
  /** A learner was refused a sandbox for their address's share (for the metrics). */
  onRefused?: (address: string) => void;
}

export class Admission {
  private readonly newLearners: RateLimiter;
  /** Where each learner was last seen; learners with no sandbox are forgotten now and then. */
  private readonly lastSeen = new Map<string, string>();

  constructor(private readonly options: AdmissionOptions) {
    this.newLearners = new RateLimiter(options.newLearners);
  }

  get sandboxesPerAddress(): number {
    return this.options.sandboxesPerAddress;
  }

  /** May `address` be given a new learner now? 0, or the milliseconds until it may. */
  newLearner(address: string): number {
    return this.newLearners.take(address);
  }

  /** The learner made a request from `address`. */
  seen(learner: string, address: string): void {
    if (this.lastSeen.get(learner) === address) return;
    this.lastSeen.delete(learner);
    this.lastSeen.set(learner, address);
    if (this.lastSeen.size > 50_000) this.forgetIdle();
  }

  /** Why `learner` may not have one more sandbox, or undefined if they may. */
  refusal(learner: string): string | undefined {
    if (this.options.vouchedFor?.(learner)) return undefined;
    const address = this.lastSeen.get(learner);
    if (address === undefined) return undefined;
    let held = 0;
    for (const [other, at] of this.lastSeen) if (at === address) held += this.options.sandboxesOf(other);
    if (held < this.options.sandboxesPerAddress) return undefined;
    this.options.onRefused?.(address);
    return `your network already holds ${held} sandboxes, this server's share for one address; close one (or join your instructor's workshop) to start another`;
  }

  private forgetIdle(): void {
    for (const [learner] of this.lastSeen) {
      if (this.lastSeen.size <= 25_000) return;
      if (this.options.sandboxesOf(learner) === 0) this.lastSeen.delete(learner);
    }
  }
}
