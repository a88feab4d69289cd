import { ApiError } from '@mecm/runtime'

/** A package that cannot be onboarded: 422 with what is wrong with it, where. */
export class PackageError extends ApiError {
  constructor(detail: string) {
    super(422, 'Unprocessable Package', detail)
  }
}
