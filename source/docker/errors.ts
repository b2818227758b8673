/** A failure that stops the run. Its message is one line naming the cause and the fix. */
export class DoctorError extends Error {
	constructor(message: string, readonly exitCode: number = 2) {
		super(message);
		this.name = 'DoctorError';
	}
}
