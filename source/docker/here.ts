// Is the engine on this machine, in this file system? A unix socket can be a mounted one (occ-doctor in a container
// with the engine's socket, Docker Desktop's VM), where the same path names another directory: the engine's host name
// must be ours. Backup (reading a mount with tar) and restore (writing one in place) both ask, once per engine.
import {hostname} from 'node:os';
import type {Engine} from './engine.js';

export interface EngineInfo {
	Name?: string;
	SecurityOptions?: unknown;
}

const infos = new WeakMap<Engine, Promise<EngineInfo | null>>();

/** The engine's `GET /info`, asked once per engine; null when it would not say. */
export async function engineInfo(engine: Engine): Promise<EngineInfo | null> {
	if (!infos.has(engine)) {
		infos.set(engine, (engine.docker.info() as Promise<EngineInfo>).catch(() => null));
	}

	return infos.get(engine)!;
}

/** A unix socket whose engine has our host name. */
export async function engineIsHere(engine: Engine): Promise<boolean> {
	return engine.target.transport === 'unix' && engine.target.local && (await engineInfo(engine))?.Name === hostname();
}
