// Kept so callers may import the error without dockerode; the kinds and the exit-code table are in source/errors.ts.
export {DoctorError} from '../errors.js';
