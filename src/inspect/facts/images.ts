import { formValue, type GoQuery } from '../go-query.ts'
import { pullImageRef, repoTagRef } from '../image-reference.ts'
import type { JsonObject } from '../json-value.ts'
import type { RequestFacts } from '../request-facts.ts'
import { asString, field } from './body.ts'

/**
 * Facts of the image operations that name images or change them: ImageCreate (pull or import),
 * ImageCommit and ImageTag (moby image_routes.go, container_routes.go postCommit).
 */

/**
 * The user the last `USER` instruction among `changes` sets (Dockerfile lines applied to the
 * image config by commit and import), or undefined when none does. Lines continued with `\` are
 * joined and `#` comment lines skipped, as the Dockerfile parser does.
 */
function userFromChanges (changes: readonly string[]): string | undefined {
  let user: string | undefined
  for (const change of changes) {
    const lines = change.replace(/\\[ \t]*\r?\n/g, '').split(/\r?\n/)
    for (const line of lines) {
      const m = /^\s*user(?:\s+(.*?))?\s*$/i.exec(line)
      if (m !== null) user = m[1] ?? ''
    }
  }
  return user
}

/**
 * ImageCreate: a pull when `fromImage` is set (`image` is what is pulled, `importSource` is ''),
 * otherwise an import from `fromSrc` (`-` for the request body, or a URL the engine fetches),
 * named `repo:tag`, with a `user` its `changes` may set.
 *
 * @example imageCreateFacts(parseGoQuery('fromImage=busybox&tag=1.36', 'ImageCreate')) // { image: 'docker.io/library/busybox:1.36', importSource: '', tags: [], user: '' }
 */
export function imageCreateFacts (query: GoQuery): RequestFacts {
  const fromImage = formValue(query, 'fromImage')
  const tag = formValue(query, 'tag')
  if (fromImage !== '') return { image: pullImageRef(fromImage, tag), importSource: '', tags: [], user: '' }
  const repo = formValue(query, 'repo')
  return {
    image: '',
    importSource: formValue(query, 'fromSrc'),
    tags: repo === '' ? [] : [repoTagRef(repo, tag)],
    user: userFromChanges(query['changes'] ?? []) ?? ''
  }
}

/**
 * ImageCommit: the name the new image gets (`repo`/`tag`), and its user: the last `USER` of
 * `changes`, else the body's `User` (the engine applies the changes over the body's config).
 *
 * @example imageCommitFacts(parseGoQuery('container=c1&repo=app&tag=v1', 'ImageCommit'), undefined) // { tags: ['docker.io/library/app:v1'], user: '' }
 */
export function imageCommitFacts (query: GoQuery, body: JsonObject | undefined): RequestFacts {
  const repo = formValue(query, 'repo')
  const bodyUser = asString(field(body, 'User'), 'User')
  return {
    tags: repo === '' ? [] : [repoTagRef(repo, formValue(query, 'tag'))],
    user: userFromChanges(query['changes'] ?? []) ?? bodyUser
  }
}

/**
 * ImageTag: the name the image gets.
 *
 * @example imageTagFacts(parseGoQuery('repo=localhost:5000/app&tag=v2', 'ImageTag')) // { tags: ['localhost:5000/app:v2'] }
 */
export function imageTagFacts (query: GoQuery): RequestFacts {
  const repo = formValue(query, 'repo')
  return { tags: repo === '' ? [] : [repoTagRef(repo, formValue(query, 'tag'))] }
}
