"""Repositories and collections in the admin UI: the wizard previews and creates a repository (deployed as a stack
of its own until CREATE_COMPLETE), its collections are listed and one is added with its own chunking, groups and
tags, then the repository is deleted with everything in it."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.pages import sign_in, unique

pytestmark = pytest.mark.e2e


def repository_row(page, repository_id: str):
    return page.get_by_test_id("repository-row").filter(has_text=repository_id)


def test_the_wizard_previews_and_creates_a_repository_then_collections_are_managed(new_page, local_stack,
                                                                                    screenshots):
    repository_id = unique("wiz").replace(" ", "-").lower()[:20].strip("-")
    page = new_page()
    sign_in(page, local_stack, local_stack.admin, "/admin/repositories")
    wizard = page.get_by_role("form", name="New repository")
    wizard.get_by_label("Repository id").fill(repository_id)
    wizard.get_by_label("Name").fill("Wizard docs")
    wizard.get_by_label("Store").select_option("pgvector")
    wizard.get_by_role("button", name="Next").click()
    expect(wizard.get_by_label("Embedding model")).not_to_have_value("")
    wizard.get_by_label("Search").select_option("hybrid")
    wizard.get_by_label("Chunk size").fill("400")
    wizard.get_by_label("Chunk overlap (at most half the size)").fill("40")
    screenshots(page, "repository-wizard-embedding")
    wizard.get_by_role("button", name="Next").click()
    expect(wizard.get_by_test_id("repository-review")).to_contain_text(f'"repositoryId": "{repository_id}"')
    wizard.get_by_role("button", name="Preview").click()
    expect(wizard.get_by_test_id("repository-preview")).to_contain_text("create", timeout=120_000)
    expect(wizard.get_by_test_id("repository-preview")).to_contain_text("PgVectorRepositoryTable")
    screenshots(page, "repository-wizard-preview")
    wizard.get_by_role("button", name="Create repository").click()
    row = repository_row(page, repository_id)
    expect(row.get_by_test_id("repository-status")).to_have_text("CREATE_COMPLETE", timeout=180_000)
    screenshots(page, "repositories")

    row.get_by_role("button", name=f"Collections of {repository_id}").click()
    collections = page.get_by_role("region", name=f"Collections of {repository_id}")
    expect(collections.get_by_test_id("collection-row").filter(has_text="(default)")).to_have_count(1)
    form = page.get_by_role("form", name="New collection")
    form.get_by_label("Collection name").fill("Policies")
    form.get_by_label("Chunking").select_option("none")
    form.get_by_label("Collection groups (comma-separated)").fill("legal")
    form.get_by_label("Collection tags (comma-separated)").fill("policy, 2024")
    form.get_by_role("button", name="Add collection").click()
    policies = collections.get_by_test_id("collection-row").filter(has_text="Policies")
    expect(policies).to_contain_text("none")
    expect(policies).to_contain_text("legal")
    screenshots(page, "collections")
    policies.get_by_role("button", name="Delete collection Policies").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    expect(policies).to_have_count(0)

    row.get_by_role("button", name=f"Delete repository {repository_id}").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    expect(repository_row(page, repository_id)).to_have_count(0, timeout=180_000)
