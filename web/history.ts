// The learner's own history: their recorded sessions, each to replay (with
// the checks' marks), download as a plain .cast (asciinema plays it) or delete.
import type { RecordingJson } from '../server/contracts/recordings.js';
import { mountReplay, type Replay } from './replay.js';
import { request } from './terminal/api.js';

const list = document.getElementById('history-list')!;
const about = document.getElementById('history-about')!;
const box = document.getElementById('replay')!;
const deleteAll = document.getElementById('delete-all') as HTMLButtonElement;
let replay: Replay | undefined;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]> = {}, ...children: Array<Node | string>): HTMLElementTagNameMap[K] {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}

async function show(): Promise<void> {
  const { recorded, recordings } = await request<{ recorded: boolean; recordings: RecordingJson[] }>('GET', '/api/me/recordings');
  about.textContent = recorded
    ? 'Your lesson terminals are recorded, with the checks\u2019 results beside them. Only you and the instructor of your workshop can see them; delete them whenever you like.'
    : 'Your terminals are not recorded on this server.';
  list.removeAttribute('aria-busy');
  deleteAll.hidden = recordings.length === 0;
  list.replaceChildren(...recordings.map((r) => {
    const play = el('button', { type: 'button', className: 'bx-link', textContent: `${r.lessonId} · ${new Date(r.startedAt).toLocaleString()}${r.endedAt ? '' : ' (open)'}` });
    play.dataset.recording = r.id;
    play.addEventListener('click', async () => {
      replay?.dispose();
      replay = await mountReplay(box, `/api/me/recordings/${r.id}`);
    });
    const download = el('a', { className: 'bx-link', href: `/api/me/recordings/${r.id}/cast?download`, textContent: 'download .cast' });
    const remove = el('button', { type: 'button', className: 'bx-button', textContent: 'Delete' });
    remove.addEventListener('click', async () => {
      await request('DELETE', `/api/me/recordings/${r.id}`);
      replay?.dispose();
      box.replaceChildren();
      await show();
    });
    return el('li', {}, play, download, remove);
  }));
  if (!recordings.length && recorded) list.append(el('li', { textContent: 'No recordings yet: start a lesson.' }));
}

deleteAll.addEventListener('click', async () => {
  await request('DELETE', '/api/me/recordings');
  replay?.dispose();
  box.replaceChildren();
  await show();
});

Object.assign(window, { boxlabHistory: { replay: () => replay } });
void show();
