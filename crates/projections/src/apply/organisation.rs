//! The organisation in the read models: the kommun, bodies, units, delegation, direction, styrdokument, access, signing keys and checkpoints.
//!
//! One function per event, called from the dispatch in [`super::fold`].

use super::*;

pub(super) fn kommun_registered<R: KvRead + ?Sized>(
    cx: &mut Ctx<'_, '_, R>,
    _src: Source,
    e: KommunRegistered,
) -> Result<(), ProjectionError> {
    let KommunRegistered {
        name,
        kommunkod,
        council,
        forbund,
    } = e;
    cx.put(
        KOMMUN_PATH,
        &KommunDoc {
            name,
            kommunkod,
            council,
            forbund,
        },
    )?;
    Ok(())
}

pub(super) fn election_recorded<R: KvRead + ?Sized>(
    cx: &mut Ctx<'_, '_, R>,
    src: Source,
    e: ElectionRecorded,
) -> Result<(), ProjectionError> {
    let ElectionRecorded {
        date,
        kind,
        mandate_from,
        mandate_to,
    } = e;
    cx.put(
        &DocKind::Election.path(date),
        &ElectionDoc {
            date,
            kind,
            mandate_from,
            mandate_to,
            source: src,
        },
    )
}

pub(super) fn body_established<R: KvRead + ?Sized>(
    cx: &mut Ctx<'_, '_, R>,
    _src: Source,
    e: BodyEstablished,
) -> Result<(), ProjectionError> {
    let BodyEstablished {
        body,
        kind,
        name,
        area,
        parent_company,
        forbund,
    } = e;
    cx.put(
        &DocKind::Body.path(&body),
        &BodyDoc {
            id: body.clone(),
            kind,
            name,
            area,
            parent_company,
            delegations: Default::default(),
            forbund,
        },
    )?;
    Ok(())
}

pub(super) fn unit_established<R: KvRead + ?Sized>(
    cx: &mut Ctx<'_, '_, R>,
    _src: Source,
    e: UnitEstablished,
) -> Result<(), ProjectionError> {
    let UnitEstablished {
        unit,
        name,
        namnd,
        parent,
        level,
        serves,
    } = e;
    cx.touch(DocKind::Body.path(&namnd));
    for a in &serves {
        cx.touch(DocKind::Body.path(&a.namnd));
    }
    cx.put(
        &DocKind::Unit.path(&unit),
        &UnitDoc {
            id: unit.clone(),
            name,
            namnd,
            parent,
            level,
            serves,
        },
    )?;
    Ok(())
}

pub(super) fn delegation_granted<R: KvRead + ?Sized>(
    cx: &mut Ctx<'_, '_, R>,
    _src: Source,
    e: DelegationGranted,
) -> Result<(), ProjectionError> {
    let DelegationGranted {
        body,
        point,
        delegate,
        matters,
    } = e;
    cx.update(&DocKind::Body.path(&body), |b: &mut BodyDoc| {
        b.delegations.insert(point, (delegate, matters));
    })?;
    Ok(())
}

pub(super) fn direction_adopted<R: KvRead + ?Sized>(
    cx: &mut Ctx<'_, '_, R>,
    src: Source,
    e: DirectionAdopted,
) -> Result<(), ProjectionError> {
    let DirectionAdopted {
        id,
        kind,
        title,
        text,
        period,
    } = e;
    cx.put(
        &DocKind::Direction.path(&id),
        &DirectionDoc {
            id: id.clone(),
            kind,
            title,
            text,
            period,
            source: src,
        },
    )?;
    Ok(())
}

pub(super) fn styrdokument_adopted<R: KvRead + ?Sized>(
    cx: &mut Ctx<'_, '_, R>,
    src: Source,
    e: StyrdokumentAdopted,
) -> Result<(), ProjectionError> {
    let StyrdokumentAdopted {
        doc,
        version,
        kind,
        title,
        owner,
        valid_from,
        valid_until,
        ..
    } = e;
    let path = DocKind::Document.path(&doc);
    let mut d: DocumentDoc = cx.get(&path)?.unwrap_or(DocumentDoc {
        id: doc.clone(),
        kind,
        owner: owner.clone(),
        versions: Vec::new(),
        repealed: None,
    });
    d.versions.push(DocumentVersion {
        version,
        title,
        valid_from,
        valid_until,
        source: src,
    });
    cx.put(&path, &d)?;
    Ok(())
}

pub(super) fn styrdokument_repealed<R: KvRead + ?Sized>(
    cx: &mut Ctx<'_, '_, R>,
    src: Source,
    e: StyrdokumentRepealed,
) -> Result<(), ProjectionError> {
    let StyrdokumentRepealed { doc, reason } = e;
    cx.update(&DocKind::Document.path(&doc), |d: &mut DocumentDoc| {
        d.repealed = Some(Statement {
            text: reason,
            source: src,
        })
    })?;
    Ok(())
}

pub(super) fn access_granted<R: KvRead + ?Sized>(
    cx: &mut Ctx<'_, '_, R>,
    src: Source,
    e: AccessGranted,
) -> Result<(), ProjectionError> {
    let AccessGranted { identity, access } = e;
    apply_grant(cx, identity, access, true, src)?;
    Ok(())
}

pub(super) fn access_revoked<R: KvRead + ?Sized>(
    cx: &mut Ctx<'_, '_, R>,
    src: Source,
    e: AccessRevoked,
) -> Result<(), ProjectionError> {
    let AccessRevoked { identity, access } = e;
    apply_grant(cx, identity, access, false, src)?;
    Ok(())
}

pub(super) fn signing_key_published<R: KvRead + ?Sized>(
    cx: &mut Ctx<'_, '_, R>,
    src: Source,
    e: SigningKeyPublished,
) -> Result<(), ProjectionError> {
    let SigningKeyPublished {
        key_id,
        public_key,
        replaces,
        ..
    } = e;
    cx.put(
        &DocKind::Key.path(&key_id),
        &SigningKeyDoc {
            key_id: key_id.clone(),
            public_key,
            replaces,
            source: src,
        },
    )?;
    Ok(())
}

pub(super) fn checkpoint_signed<R: KvRead + ?Sized>(
    cx: &mut Ctx<'_, '_, R>,
    src: Source,
    e: CheckpointSigned,
) -> Result<(), ProjectionError> {
    let CheckpointSigned {
        sequence,
        head_hash,
        signed_at,
        key_id,
        ..
    } = e;
    cx.put(
        &DocKind::Checkpoint.path(format_args!("{sequence:020}")),
        &CheckpointDoc {
            sequence,
            head_hash,
            signed_at,
            key_id,
            recorded_at: src.sequence,
        },
    )?;
    Ok(())
}
