import {createContext, useContext} from 'react';

/** Colours are optional: NO_COLOR turns them off (chalk does not read it), and every colour has a glyph beside it. */
export interface Theme {
	color: boolean;
}

export const ThemeContext = createContext<Theme>({color: true});

export function useTheme(): {tint: (name: string | undefined) => string | undefined} {
	const {color} = useContext(ThemeContext);
	return {tint: name => (color ? name : undefined)};
}

/** NO_COLOR (https://no-color.org): any non-empty value turns colour off. */
export function colorFromEnv(env: NodeJS.ProcessEnv = process.env): boolean {
	return !env.NO_COLOR;
}
