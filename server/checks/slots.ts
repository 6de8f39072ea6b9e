// Check slots shared by every learner, shared fairly: at most `limit` holders
// at once, no owner (a learner) more than `perOwner` of them however many it
// asks for, and a freed slot goes to the waiting owner holding the fewest.
// So a learner whose checks are slow (or made slow on purpose) waits for their
// own, never makes anyone else wait.

interface Waiter {
  owner: string;
  grant: () => void;
}

export class FairSlots {
  private active = 0;
  private readonly byOwner = new Map<string, number>();
  private readonly waiting: Waiter[] = [];
  readonly perOwner: number;

  constructor(readonly limit: number, perOwner?: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new Error(`check slots need a limit of at least 1, not ${limit}`);
    // a quarter of the slots each by default, and always one slot left for everyone else
    this.perOwner = Math.max(1, Math.min(perOwner ?? Math.floor(limit / 4), limit - 1));
  }

  get running(): number {
    return this.active;
  }

  get queued(): number {
    return this.waiting.length;
  }

  /** Resolves with a release function once `owner` may run; call it exactly once. */
  acquire(owner: string): Promise<() => void> {
    return new Promise((resolve) => {
      const grant = () => {
        this.active++;
        this.byOwner.set(owner, (this.byOwner.get(owner) ?? 0) + 1);
        let released = false;
        resolve(() => {
          if (released) return;
          released = true;
          this.active--;
          const left = this.byOwner.get(owner)! - 1;
          if (left === 0) this.byOwner.delete(owner);
          else this.byOwner.set(owner, left);
          this.next();
        });
      };
      this.waiting.push({ owner, grant });
      this.next();
    });
  }

  private next(): void {
    while (this.active < this.limit) {
      let best = -1;
      for (let i = 0; i < this.waiting.length; i++) {
        const held = this.byOwner.get(this.waiting[i]!.owner) ?? 0;
        if (held >= this.perOwner) continue;
        if (best < 0 || held < (this.byOwner.get(this.waiting[best]!.owner) ?? 0)) best = i;
      }
      if (best < 0) return;
      this.waiting.splice(best, 1)[0]!.grant();
    }
  }
}
