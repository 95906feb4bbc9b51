"""Replies read in the context of the mail they answer (SPEC §4), as people
write them: the Subject after "Re:" is ours, a "no" is no, and the words
around a command ("aanmelden graag!", "rekenen.") do not hide it.  Found by
black-box review; each test failed before its fix."""

from __future__ import annotations

import pytest

from test_workflows import (  # noqa: F401  (story is a fixture)
    HUMAN, Story, join_all, make_story, story,
)


def test_no_to_a_forged_close_closes_nothing(story):
    join_all(story, ("alice", "aanmelden"))
    # alice writes as the lead, without proof: the lead is asked.
    story.mail("lead", "sluit rekenen", envelope_from="alice@school.test")
    story.once()
    confirm = story.one("lead", subject="^Bevestig: Rekenen in groep 3 sluiten")
    story.nothing("alice")

    story.reply("lead", confirm, "Nee! Dit heb ik niet gevraagd, niet sluiten!")
    story.once()
    story.one("lead", 'Je antwoordde "nee"', "er is niets gedaan")
    assert story.networks()["rekenen"]["state"] == "open"
    story.nothing("alice")                      # no cancellation

    # The code is spent: a later "ja" to the same mail does not close it.
    story.reply("lead", confirm, "ja")
    story.once()
    story.one("lead", 'eerder met "nee" beantwoord')
    assert story.networks()["rekenen"]["state"] == "open"


@pytest.mark.parametrize("words", [
    "Hè? Wat is dit? Dit heb ik niet gestuurd.",
    "??",
    "Wat is dit",
    "Ik ben afwezig tot en met 3 maart en lees mijn mail niet.",
    "Huh, who sent this?",
])
def test_a_reply_without_a_yes_to_a_forged_close_closes_nothing(story, words):
    """Any reply confirmed: the lead asking "what is this?" closed the
    network and cancelled every meeting for all its members."""
    join_all(story, ("alice", "aanmelden"))
    story.mail("lead", "sluit rekenen", envelope_from="alice@school.test")
    story.once()
    confirm = story.one("lead", subject="^Bevestig: Rekenen in groep 3 sluiten")
    story.reply("lead", confirm, words)
    story.once()
    story.one("lead", 'geen "ja"', "nog niet gedaan", "bewaard voor de coördinatoren")
    assert story.networks()["rekenen"]["state"] == "open"
    story.nothing("alice")
    kept = [f for f in story.stack.flags("lido") if HUMAN in f.flags]
    assert len(kept) == 1 and "Bevestig" in kept[0].subject, kept

    # The code still holds for the lead who did ask: "ja" closes, also
    # in reply to the answer that asked for it.
    said = story.stack.inbox("lead")[-1]
    assert "geen" in said["Subject"] or "Bevestig" in said["Subject"], said["Subject"]
    story.reply("lead", said, "ja\n\nMet vriendelijke groet,\nPiet\nOp woensdag afwezig")
    story.once()
    assert story.networks()["rekenen"]["state"] == "closed"


@pytest.mark.parametrize("words", [
    "", "Ja, graag. Hoe laat begint het?", "Leuk! Wanneer is de eerste bijeenkomst?",
    "This is not the signature you're looking for.", "Prima\n\nJan",
])
def test_a_join_is_confirmed_by_any_reply_but_doubt(story, words):
    story.mail("bob", "aanmelden rekenen")
    story.once()
    confirm = story.one("bob", subject="^Bevestig")
    story.reply("bob", confirm, words)
    story.once()
    assert story.members()["bob@school.test"] == ("member", "active")


def test_no_to_a_join_confirmation_in_english(story):
    story.mail("bob", "join rekenen", envelope_from="alice@school.test")
    story.once()
    confirm = story.one("bob", subject="^Confirm: ")
    story.reply("bob", confirm, "No, I did not ask for this.")
    story.once()
    story.one("bob", 'You answered "no"', "nothing was done")
    # Not waiting any more: the join is called off.
    assert story.members()["bob@school.test"] == ("member", "left")


def test_reply_to_a_digest_is_for_people(story):
    join_all(story, ("alice", "aanmelden"))
    story.mail("alice", "bericht rekenen", body="Slides staan op het intranet.")
    story.once()
    story.one("alice", "Je bericht staat bij het nieuws")
    story.run(story.cfg, "digest", "--send")
    story.once()
    digest = story.one("lead", subject="^Samenvatting ")

    story.reply("lead", digest, "Mooi werk Alice! Kun je de slides ook mailen?")
    story.once()
    story.nothing("lead")
    left = story.inbox_left()
    assert len(left) == 1 and left[0][0].startswith("Re: Samenvatting")
    assert HUMAN in left[0][1]


def test_thanks_for_a_post_acknowledgement_is_no_second_post(story):
    join_all(story, ("alice", "aanmelden"))
    story.mail("alice", "bericht rekenen", body="Volgende week: rekenspelletjes!")
    story.once()
    ack = story.one("alice", "Je bericht staat bij het nieuws")
    story.reply("alice", ack, "Dank je!")
    story.once()
    story.nothing("alice")
    assert story.db().execute("SELECT count(*) FROM news").fetchone() == (1,)
    assert HUMAN in story.inbox_left()[0][1]


def test_corrected_command_in_reply_to_an_error(story):
    story.mail("bob", "aanmelden rekene")
    story.once()
    error = story.one("bob", "aanmelden rekenen")
    # Reply keeps "Re: aanmelden rekene"; the new text says it right.
    story.reply("bob", error, "aanmelden rekenen")
    story.once()
    story.one("bob", subject="^Bevestig: aanmelden voor Rekenen in groep 3")


def test_moderation_reply_without_the_keyword_says_how(stack, tmp_path, run_leernet):
    story = make_story(stack, tmp_path, run_leernet)
    story.mail("alice", "nieuw netwerk Samen lezen", body="Hoe lezen we samen?")
    story.once()
    story.one("alice", subject="^Voorstel ontvangen")
    mod = story.one("femme", subject="^Voorstel nieuw leernetwerk")
    story.one("donna", subject="^Voorstel nieuw leernetwerk")

    story.reply("femme", mod, "Akkoord, prima idee")
    story.once()
    story.one("femme", "Je antwoord bevat geen besluit.",
              'Begin je antwoord op de mail over het voorstel met "goedkeuren" of '
              'met "afwijzen REDEN"', "niets veranderd")
    assert story.networks()["samen-lezen"]["state"] == "proposed"
    story.reply("femme", mod, "goedkeuren")
    story.once()
    story.one("femme", "is goedgekeurd")
    assert story.networks()["samen-lezen"]["state"] == "open"


def test_reply_to_a_call_with_more_words_joins_that_network(stack, tmp_path, run_leernet):
    story = make_story(stack, tmp_path, run_leernet,
                       organization_announce="carol@school.test")
    story.mail("alice", "nieuw netwerk Samen lezen", body="Hoe lezen we samen?")
    story.once()
    mod = story.one("femme", subject="^Voorstel nieuw leernetwerk")
    story.reply("femme", mod, "goedkeuren")
    story.once()
    call = story.one("carol", subject="^Nieuw leernetwerk: Samen lezen")
    story.reply("carol", call, "aanmelden graag!")
    story.once()
    story.one("carol", subject="^Bevestig: aanmelden voor Samen lezen")


def test_afmelden_in_reply_to_an_invitation_points_to_decline(stack, tmp_path, run_leernet):
    story = make_story(stack, tmp_path, run_leernet,
                       organization_trusted_authserv_id="mx.school.test")
    join_all(story, ("alice", "aanmelden"))
    story.mail("lead", "bijeenkomst rekenen", body="datum: 14-05-2027\ntijd: 15:00-17:00\n"
               "locatie: Lokaal 3", headers={"Authentication-Results":
                                             "mx.school.test; dmarc=pass header.from=school.test"})
    story.once()
    invite = [m for m in story.new("alice") if "bijeenkomst 1" in m["Subject"]]
    assert len(invite) == 1, [m["Subject"] for m in invite]
    story.new("lead")
    story.reply("alice", invite[0], "Afmelden")
    story.once()
    story.one("alice", '"Nee" (of "Weigeren")', "afmelden rekenen", "niets veranderd")
    assert story.members()["alice@school.test"] == ("member", "active")
    # Words after it name no network: the same answer, not "there is no
    # network called 'graag, ik heb geen tijd meer.'".
    story.reply("alice", invite[0], "Afmelden graag, ik heb geen tijd meer.")
    story.once()
    story.one("alice", '"Nee" (of "Weigeren")', "afmelden rekenen", "niets veranderd")
    assert story.members()["alice@school.test"] == ("member", "active")


def test_words_around_the_name_of_a_network(story):
    """"Aanmelden voor rekenen", "join the rekenen network": the words
    around a name name nothing; a title that starts with one still counts
    as written."""
    story.run(story.cfg, "network", "add", "vreedzaam", "--title",
              "De Vreedzame School", "--lead", "lead@school.test")
    story.mail("alice", "Aanmelden voor rekenen")
    story.mail("bob", "join the rekenen network, please")
    story.mail("carol", "aanmelden bij het netwerk De Vreedzame School")
    story.mail("donna", "afmelden graag")
    story.once()
    story.one("alice", subject="^Bevestig: aanmelden voor Rekenen in groep 3")
    story.one("bob", subject="^Confirm: join Rekenen in groep 3")
    story.one("carol", subject="^Bevestig: aanmelden voor De Vreedzame School")
    # Nothing but "graag": asked which network, as "afmelden" alone is.
    story.one("donna", 'Bij "afmelden" hoort de naam van een netwerk.')


def test_one_network_per_mail(story):
    """"aanmelden rekenen en taal" joined rekenen and said nothing of taal:
    the answer now says one network a mail, with what to send for each;
    a title with "en" in it is one network."""
    story.run(story.cfg, "network", "add", "taal", "--title", "Taal",
              "--lead", "lead@school.test")
    story.run(story.cfg, "network", "add", "taal-rekenen", "--title",
              "Taal en rekenen", "--lead", "lead@school.test")
    story.mail("alice", "aanmelden rekenen en taal")
    story.mail("bob", "join rekenen, taal")
    story.mail("carol", "aanmelden Taal en rekenen")
    story.mail("donna", "aanmelden voor Taal en rekenen")
    # A user of this test's own (test_mailstack adds "erik" with another
    # password).
    story.stack.add_user("names-erwin")
    story.mail("names-erwin", "aanmelden het netwerk Taal en rekenen graag")
    story.once()
    story.one("alice", "Je noemde meer dan één netwerk (rekenen, taal).",
              "aanmelden rekenen", "aanmelden taal", "Er is niets veranderd.")
    story.one("bob", "You named more than one network (rekenen, taal).",
              "join taal")
    story.one("carol", subject="^Bevestig: aanmelden voor Taal en rekenen")
    story.one("donna", subject="^Bevestig: aanmelden voor Taal en rekenen")
    story.one("names-erwin", subject="^Bevestig: aanmelden voor Taal en rekenen")
    m = story.members()
    assert "alice@school.test" not in m and "bob@school.test" not in m


def test_mailing_list_words_at_the_coordinator_address_are_for_people(story):
    """"unsubscribe" and "inschrijven" are keywords in mail to a list only:
    "Inschrijven studiedag" to the coordinators is a question."""
    story.mail("alice", "Inschrijven studiedag", body="Femme, kan ik nog mee?")
    story.once()
    story.nothing("alice")
    left = story.inbox_left()
    assert len(left) == 1 and left[0][0] == "Inschrijven studiedag"
    assert HUMAN in left[0][1]


def test_names_in_quotes_and_with_a_full_stop(story):
    story.mail("alice", "aanmelden rekenen.")
    story.mail("bob", 'aanmelden "Rekenen in groep 3"')
    story.mail("carol", "aanmelden \u201cRekenen in groep 3\u201d!")
    story.once()
    for who in ("alice", "bob", "carol"):
        story.one(who, subject="^Bevestig: aanmelden voor Rekenen in groep 3")


def test_ordinary_subjects_with_holiday_words_are_commands_or_questions(story):
    story.mail("alice", "aanmelden rekenen (na mijn vakantie)")
    story.mail("bob", "Afwezig bij de bijeenkomst van dinsdag", body="Ik kan niet.")
    story.mail("carol", "Vakantie", body="Ik ben weg tot 5 januari.")
    story.once()
    story.one("alice", subject="^Bevestig: aanmelden voor Rekenen in groep 3")
    story.nothing("bob", "carol")
    left = {subject: flags for subject, flags in story.inbox_left()}
    assert HUMAN in left["Afwezig bij de bijeenkomst van dinsdag"]
    # An auto-reply's Subject, but a person may write it too: not
    # answered, left for people.
    assert HUMAN in left["Vakantie"]


def test_the_start_of_something_is_no_proposal(story):
    """"Start van het schooljaar" is news for people, not `start TITLE`;
    a title that starts with a capital "Van" still is one."""
    story.mail("bob", "Start van het schooljaar", body="Fijn dat iedereen er weer is.")
    story.mail("carol", "start Van Gogh in de klas", body="Hoe kijken kleuters naar kunst?")
    story.once()
    story.nothing("bob")
    story.one("carol", subject="Van Gogh in de klas")
    story.one("femme", "Van Gogh in de klas")     # the one proposal to decide
    left = {subject: flags for subject, flags in story.inbox_left()}
    assert HUMAN in left["Start van het schooljaar"]
    assert story.networks()["van-gogh-in-de-klas"]["state"] == "proposed"


def test_our_own_list_address_is_never_answered(story):
    story.mail("lido+rekenen", "hulp")
    story.once()
    assert story.inbox_left() == []
    assert [m for m in story.stack.inbox("lido") if m["Subject"].startswith("Re:")] == []


def test_a_bare_status_is_answered_in_the_language_last_written(story):
    story.mail("bob", "help")
    story.once()
    story.one("bob", 'Send "help" for all commands')
    story.mail("bob", "status rekenen")           # "status" is both languages
    story.once()
    story.one("bob", 'You are not a member of "Rekenen in groep 3"')


def test_afmelden_without_a_network_lists_the_senders_own(story):
    """What a digest's List-Unsubscribe sends for someone in several
    networks: the answer lists theirs, each with the word that leaves it."""
    story.run(story.cfg, "network", "add", "taal", "--title", "Taal", "--lead",
              "lead@school.test")
    story.run(story.cfg, "network", "add", "natuur", "--title", "Natuur", "--lead",
              "lead@school.test")
    join_all(story, ("alice", "aanmelden"))
    story.mail("alice", "volg taal")
    story.once()
    story.one("alice")
    story.mail("alice", "afmelden")
    story.once()
    msg = story.one("alice", "Jouw netwerken", "Rekenen in groep 3: afmelden rekenen",
                    "Taal: ontvolg taal")
    assert "natuur" not in msg.get_body(preferencelist=("plain",)).get_content()


def test_answers_greet_by_the_staff_directory_name(story, tmp_path):
    staff = tmp_path / "staff.csv"
    staff.write_text("email,name,school\nalice@school.test,Anne-Marie van 't Hof,De Regenboog\n")
    story.run(story.cfg, "staff", "import", str(staff))
    story.mail("alice", "hulp", headers={"From": "\"Hof, A.M. van 't\" <alice@school.test>"})
    story.mail("bob", "hulp")
    story.once()
    story.one("alice", "Beste Anne-Marie van 't Hof,")
    story.one("bob", "Beste bob@school.test,")


def test_english_words_dutch_teachers_write_are_answered_in_dutch(story):
    """"post" and "meeting" are Dutch usage too: a Dutch text under them was
    answered in English, and the writer was English from then on."""
    join_all(story, ("alice", "aanmelden"), ("bob", "join"))
    story.mail("alice", "post rekenen", body="Hallo allemaal, de slides staan online.")
    story.mail("bob", "post rekenen", body="Slides are on the intranet.")
    story.once()
    story.one("alice", 'Je bericht staat bij het nieuws van "Rekenen in groep 3"')
    story.one("bob", 'Your item is in the news of "Rekenen in groep 3"')
    assert story.db().execute("SELECT lang FROM people WHERE email = ?",
                              ("alice@school.test",)).fetchone() == ("nl",)
