// A typed list of listeners, each removable through the Disposable it got.
import type { Disposable } from '../sandbox/driver.js';

export type { Disposable };

export class Listeners<T> {
  private readonly set = new Set<(event: T) => void>();

  /** `onError` hears what a listener threw: a bug in one subscriber must not end the server. */
  constructor(private readonly onError: (err: unknown) => void = (err) => console.error(err)) {}

  add(listener: (event: T) => void): Disposable {
    this.set.add(listener);
    return { dispose: () => void this.set.delete(listener) };
  }

  /** Calls every listener; one that throws does not keep the others from hearing. */
  emit(event: T): void {
    for (const listener of [...this.set]) {
      try {
        listener(event);
      } catch (err) {
        this.onError(err);
      }
    }
  }

  get size(): number {
    return this.set.size;
  }

  clear(): void {
    this.set.clear();
  }
}
