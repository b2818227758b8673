// What a long task has put in place, undone in reverse order whatever happens: each step that changes something
// pushes how to put it back, and the task's end unwinds the stack (after an error, an abort, or a clean run alike).

export interface Undo {
	/** What it puts back, for the leftovers a failed undo reports. */
	what: string;
	run: () => Promise<void>;
}

export class UndoStack {
	private readonly undos: Undo[] = [];

	push(what: string, run: () => Promise<void>): void {
		this.undos.push({what, run});
	}

	/** Run every undo, newest first; one that throws does not stop the others. Returns the errors, oldest first. */
	async unwind(): Promise<Array<{what: string; error: unknown}>> {
		const errors: Array<{what: string; error: unknown}> = [];
		while (this.undos.length > 0) {
			const undo = this.undos.pop()!;
			try {
				await undo.run();
			} catch (error) {
				errors.unshift({what: undo.what, error});
			}
		}

		return errors;
	}
}
