// Which learner owns which sandbox (and so its terminals), and what a learner
// may do with a sandbox. `access` is the one place that decides; a later
// store (SQLite) or instructor session widens it there and nowhere else.

/** owner: use it fully (type, create and end terminals); viewer: watch its terminals; none: not even see it. */
export type Access = 'owner' | 'viewer' | 'none';

export class Ownership {
  private readonly owners = new Map<string, string>();

  claim(sandboxId: string, learner: string): void {
    this.owners.set(sandboxId, learner);
  }

  release(sandboxId: string): void {
    this.owners.delete(sandboxId);
  }

  ownerOf(sandboxId: string): string | undefined {
    return this.owners.get(sandboxId);
  }

  sandboxesOf(learner: string): string[] {
    return [...this.owners].filter(([, owner]) => owner === learner).map(([id]) => id);
  }

  /**
   * A recording (or timeline) of `recordedLearner`'s terminal: as their
   * sandbox's terminals, its learner's alone ('owner': replay, download,
   * delete); nobody else's. An instructor sees it through their workshop
   * (http/recordings.ts: the learner must be a member), never through here.
   */
  replayAccess(learner: string | undefined, recordedLearner: string): Access {
    return learner !== undefined && learner === recordedLearner ? 'owner' : 'none';
  }

  access(learner: string | undefined, sandboxId: string): Access {
    return learner !== undefined && this.owners.get(sandboxId) === learner ? 'owner' : 'none';
  }
}
